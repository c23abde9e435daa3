import { describe } from 'vitest';
import { type GradientCase, itChecksGradients } from '../../test/gradient-check.js';
import * as ops from './index.js';

const shape = (...dims: number[]) => ({ shape: dims });
const positive = (...dims: number[]) => ({ shape: dims, positive: true });
const mask = (dims: number[], values: number[]) => ({ shape: dims, condition: Uint8Array.from(values) });

const cases: GradientCase[] = [
  { name: 'Add broadcasting [2,3] + [3]', inputs: [shape(2, 3), shape(3)], build: (a, b) => ops.add(a!, b!) },
  {
    name: 'Sub broadcasting [2,1,3] - [4,1]',
    inputs: [shape(2, 1, 3), shape(4, 1)],
    build: (a, b) => ops.sub(a!, b!),
  },
  {
    name: 'Mul broadcasting [2,3] * [2,1]',
    inputs: [shape(2, 3), shape(2, 1)],
    build: (a, b) => ops.mul(a!, b!),
  },
  {
    name: 'Div broadcasting [3,2] / [2]',
    inputs: [shape(3, 2), positive(2)],
    build: (a, b) => ops.div(a!, b!),
  },
  { name: 'Pow [2,3] ^ [3]', inputs: [positive(2, 3), shape(3)], build: (a, b) => ops.pow(a!, b!) },
  { name: 'Min [2,3], [3]', inputs: [shape(2, 3), shape(3)], build: (a, b) => ops.min(a!, b!) },
  { name: 'Max [1,3], [2,3]', inputs: [shape(1, 3), shape(2, 3)], build: (a, b) => ops.max(a!, b!) },
  {
    name: 'Where broadcasting',
    inputs: [mask([2, 3], [1, 0, 1, 0, 0, 1]), shape(2, 3), shape(3)],
    build: (c, a, b) => ops.where(c!, a!, b!),
  },
  { name: 'Neg', inputs: [shape(4)], build: (x) => ops.neg(x!) },
  { name: 'Abs', inputs: [shape(2, 3)], build: (x) => ops.abs(x!) },
  { name: 'Sqrt', inputs: [positive(2, 3)], build: (x) => ops.sqrt(x!) },
  { name: 'Exp', inputs: [shape(2, 3)], build: (x) => ops.exp(x!) },
  { name: 'Log', inputs: [positive(2, 3)], build: (x) => ops.log(x!) },
  { name: 'Tanh', inputs: [shape(2, 3)], build: (x) => ops.tanh(x!) },
  { name: 'Sigmoid', inputs: [shape(2, 3)], build: (x) => ops.sigmoid(x!) },
  { name: 'Relu', inputs: [shape(2, 3)], build: (x) => ops.relu(x!) },
  {
    name: 'Erf',
    inputs: [shape(2, 3)],
    build: (x) => ops.erf(x!),
    dtype: 'float32',
    epsilon: 1e-2,
    tolerance: 2e-3,
  },
  {
    name: 'Gelu (erf)',
    inputs: [shape(2, 3)],
    build: (x) => ops.gelu(x!, 'erf'),
    dtype: 'float32',
    epsilon: 1e-2,
    tolerance: 2e-3,
  },
  { name: 'Gelu (tanh)', inputs: [shape(2, 3)], build: (x) => ops.gelu(x!, 'tanh') },
  { name: 'Identity', inputs: [shape(3)], build: (x) => ops.identity(x!) },
  {
    name: 'Cast float64 -> float32 -> float64',
    inputs: [shape(2, 3)],
    build: (x) => ops.cast(ops.mul(ops.cast(x!, 'float32'), ops.cast(x!, 'float32')), 'float64'),
    epsilon: 1e-3,
    tolerance: 1e-3,
  },
  { name: 'Clip', inputs: [shape(3, 4)], build: (x) => ops.clip(x!, { low: -0.5, high: 0.4 }) },
  {
    name: 'Fan-out: x*x + tanh(x)',
    inputs: [shape(2, 2)],
    build: (x) => ops.add(ops.mul(x!, x!), ops.tanh(x!)),
  },
  { name: 'MatMul [3,4] x [4,2]', inputs: [shape(3, 4), shape(4, 2)], build: (a, b) => ops.matmul(a!, b!) },
  {
    name: 'MatMul [2,3,4] x [4,5] (folded weight gradient)',
    inputs: [shape(2, 3, 4), shape(4, 5)],
    build: (a, b) => ops.matmul(a!, b!),
  },
  {
    name: 'MatMul [3,4] x [2,4,5] (broadcast left)',
    inputs: [shape(3, 4), shape(2, 4, 5)],
    build: (a, b) => ops.matmul(a!, b!),
  },
  {
    name: 'MatMul [2,1,3,4] x [3,4,2] (batch broadcast)',
    inputs: [shape(2, 1, 3, 4), shape(3, 4, 2)],
    build: (a, b) => ops.matmul(a!, b!),
  },
  {
    name: 'Gemm transA, C [N]',
    inputs: [shape(4, 3), shape(4, 2), shape(2)],
    build: (a, b, c) => ops.gemm(a!, b!, { transposeA: true, alpha: 0.5, beta: 2 }, c!),
  },
  {
    name: 'Gemm transB',
    inputs: [shape(3, 4), shape(2, 4), shape(3, 1)],
    build: (a, b, c) => ops.gemm(a!, b!, { transposeB: true }, c!),
  },
  {
    name: 'Gemm transA transB',
    inputs: [shape(4, 3), shape(2, 4)],
    build: (a, b) => ops.gemm(a!, b!, { transposeA: true, transposeB: true }),
  },
  { name: 'Softmax last axis', inputs: [shape(2, 5)], build: (x) => ops.softmax(x!) },
  { name: 'Softmax axis 1 of 3', inputs: [shape(2, 3, 2)], build: (x) => ops.softmax(x!, 1) },
  { name: 'LogSoftmax', inputs: [shape(3, 4)], build: (x) => ops.logSoftmax(x!) },
  {
    name: 'ReduceSum axis 1',
    inputs: [shape(2, 3, 2)],
    build: (x) => ops.reduceSum(x!, { axes: [1], keepDims: false }),
  },
  { name: 'ReduceSum all', inputs: [shape(2, 3)], build: (x) => ops.reduceSum(x!) },
  {
    name: 'ReduceMean axes 0,2',
    inputs: [shape(2, 3, 2)],
    build: (x) => ops.reduceMean(x!, { axes: [0, 2] }),
  },
  {
    name: 'ReduceMax last axis',
    inputs: [shape(3, 4)],
    build: (x) => ops.reduceMax(x!, { axes: [-1], keepDims: false }),
  },
  {
    name: 'Gather axis 0 with repeated indices',
    inputs: [shape(4, 3), { shape: [2, 3], indices: Int32Array.from([0, 2, 0, 3, 3, 0]) }],
    build: (table, indices) => ops.gather(table!, indices!),
  },
  {
    name: 'Gather axis 0 with negative indices',
    inputs: [shape(4, 3), { shape: [4], indices: Int32Array.from([-1, 0, -1, -4]) }],
    build: (table, indices) => ops.gather(table!, indices!),
  },
  {
    name: 'Gather axis 0 of a vector',
    inputs: [shape(5), { shape: [2, 2], indices: BigInt64Array.from([4n, 1n, 4n, 4n]) }],
    build: (table, indices) => ops.gather(table!, indices!),
  },
  {
    name: 'Gather axis 1',
    inputs: [shape(2, 4, 3), { shape: [3], indices: BigInt64Array.from([1n, 3n, 1n]) }],
    build: (data, indices) => ops.gather(data!, indices!, 1),
  },
  {
    name: 'GatherElements last axis',
    inputs: [shape(2, 4), { shape: [2, 2], indices: Int32Array.from([3, 0, 1, 1]) }],
    build: (data, indices) => ops.gatherElements(data!, indices!, -1),
  },
  {
    name: 'Slice',
    inputs: [shape(3, 5)],
    build: (x) => ops.slice(x!, { starts: [1, -4], ends: [3, 4], axes: [0, 1] }),
  },
  { name: 'Pad', inputs: [shape(2, 3)], build: (x) => ops.pad(x!, [1, 0, 0, 2]) },
  { name: 'Concat axis 1', inputs: [shape(2, 1), shape(2, 3)], build: (a, b) => ops.concat([a!, b!], 1) },
  {
    name: 'Split axis 0 (one part unused)',
    inputs: [shape(5, 2)],
    build: (x) => {
      const [first, , third] = ops.split(x!, { axis: 0, sizes: [2, 1, 2] });
      return ops.mul(first!, third!);
    },
  },
  { name: 'Reshape', inputs: [shape(2, 6)], build: (x) => ops.tanh(ops.reshape(x!, [3, 2, 2])) },
  { name: 'Transpose', inputs: [shape(2, 3, 4)], build: (x) => ops.transpose(x!, [2, 0, 1]) },
  { name: 'Squeeze', inputs: [shape(2, 1, 3)], build: (x) => ops.squeeze(x!, [1]) },
  { name: 'Unsqueeze', inputs: [shape(2, 3)], build: (x) => ops.unsqueeze(x!, [0, 2]) },
  { name: 'Expand', inputs: [shape(3, 1)], build: (x) => ops.expand(x!, [2, 3, 4]) },
  { name: 'Trilu lower', inputs: [shape(2, 3, 3)], build: (x) => ops.trilu(x!, { upper: false }) },
  {
    name: 'Trilu upper k=1',
    inputs: [shape(3, 4)],
    build: (x) => ops.trilu(x!, { upper: true, diagonal: 1 }),
  },
  {
    name: 'LayerNormalization',
    inputs: [shape(2, 3, 4), shape(4), shape(4)],
    build: (x, scale, bias) => ops.layerNormalization(x!, scale!, bias!),
  },
  {
    name: 'LayerNormalization float32 (saved statistics)',
    inputs: [shape(2, 3, 4), shape(4), shape(4)],
    build: (x, scale, bias) => ops.layerNormalization(x!, scale!, bias!),
    dtype: 'float32',
    epsilon: 1e-2,
    tolerance: 5e-3,
  },
  {
    name: 'Comparison-built mask (Greater) in Where',
    inputs: [shape(2, 3), shape(2, 3)],
    build: (a, b) => ops.where(ops.greater(a!, b!), ops.mul(a!, 2), ops.exp(b!)),
  },
];

describe('gradients match central finite differences', () => {
  itChecksGradients(cases);
});
