import { describe, expect, it } from 'vitest';
import { checkGradient } from '../../test/gradient-check.js';
import { grad } from '../autodiff/grad.js';
import { GradientError } from '../errors/gradient-error.js';
import { MissingInputError } from '../errors/missing-input-error.js';
import { OpInputError } from '../errors/op-input-error.js';
import { TensorDtypeError } from '../errors/tensor-dtype-error.js';
import { TensorShapeError } from '../errors/tensor-shape-error.js';
import { UnknownOpError } from '../errors/unknown-op-error.js';
import * as ops from '../ops/index.js';
import { CompiledGraph } from '../runtime/compiled-graph.js';
import { Graph } from './graph.js';
import type { OpDefinition } from './op-definition.js';

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

async function caughtAsync(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('bad input gets typed errors naming the op and the shapes', () => {
  it('shape mismatch when the graph is built', () => {
    const graph = new Graph();
    const a = graph.input('a', 'float32', ['batch', 3]);
    const b = graph.input('b', 'float32', [4, 5]);
    const error = caught(() => ops.matmul(a, b));
    expect(TensorShapeError.isInstance(error)).toBe(true);
    expect((error as TensorShapeError).op).toBe('MatMul');
    expect((error as Error).message).toBe(
      'MatMul: inner dimensions 3 and 4 differ (shapes [batch, 3], [4, 5])',
    );
    expect(() => ops.add(a, graph.input('c', 'float32', [2, 4]))).toThrow(
      /Add: shapes do not broadcast \(shapes \[batch, 3\], \[2, 4\]\)/,
    );
    expect(() => ops.reshape(graph.input('d', 'float32', [2, 3]), [4, 2])).toThrow(
      /Reshape: cannot reshape 6 elements/,
    );
    expect(() => ops.concat([a, graph.input('e', 'float32', ['batch', 3, 1])], 0)).toThrow(TensorShapeError);
  });

  it('wrong dtype when the graph is built', () => {
    const graph = new Graph();
    const floats = graph.input('x', 'float32', [2]);
    const integers = graph.input('n', 'int32', [2]);
    const error = caught(() => ops.add(floats, integers));
    expect(TensorDtypeError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe('Add: operands must have the same dtype (dtypes float32, int32)');
    expect(() => ops.exp(integers)).toThrow(/Exp: input 0 \('n'\) must be one of float32\/float64/);
    expect(() => ops.gather(floats, floats)).toThrow(TensorDtypeError);
  });

  it('transpose rejects a perm that is not a permutation of the rank, identity prefixes included', () => {
    const graph = new Graph();
    const x = graph.input('x', 'float32', [2, 3, 4]);
    for (const perm of [
      [0, 1],
      [0, 1, 2, 3],
      [0, 0, 1],
      [2, 0, 3],
      [0, 1, -2],
    ]) {
      const error = caught(() => ops.transpose(x, perm));
      expect(TensorShapeError.isInstance(error)).toBe(true);
      expect((error as TensorShapeError).op).toBe('Transpose');
      expect((error as Error).message).toBe(
        `Transpose: perm [${perm.join(', ')}] is not a permutation of rank 3 (shapes [2, 3, 4])`,
      );
    }
    // The full-length identity is a no-op and a real permutation still builds.
    expect(ops.transpose(x, [0, 1, 2])).toBe(x);
    expect(ops.transpose(x, [2, 0, 1]).shape).toEqual([4, 2, 3]);
  });

  it('a missing op input or non-constant reduce axes name the op, the input and the shapes', () => {
    const graph = new Graph();
    const x = graph.input('x', 'float32', ['batch', 3]);
    const missing = caught(() => ops.applyByName('MatMul', [x, undefined]));
    expect(OpInputError.isInstance(missing)).toBe(true);
    expect(TensorShapeError.isInstance(missing)).toBe(false);
    expect((missing as OpInputError).op).toBe('MatMul');
    expect((missing as OpInputError).input).toBe(1);
    expect((missing as Error).message).toBe('MatMul: input 1 is required but missing (shapes [batch, 3])');
    const axes = graph.input('axes', 'int64', [1]);
    const computedAxes = caught(() => ops.applyByName('ReduceSum', [x, axes]));
    expect(OpInputError.isInstance(computedAxes)).toBe(true);
    expect((computedAxes as Error).message).toBe(
      "ReduceSum: input 1 (axes 'axes') must be a build-time constant; pass axes as numbers (shapes [batch, 3], [1])",
    );
    expect(OpInputError.isInstance(caught(() => ops.applyByName('Add', [undefined, undefined])))).toBe(true);
  });

  it('unknown op', () => {
    const graph = new Graph();
    const x = graph.input('x', 'float32', [2]);
    const error = caught(() => ops.applyByName('FancyAttention', [x]));
    expect(UnknownOpError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^Unknown op 'FancyAttention'. Known: .*MatMul/);
    expect(ops.applyByName('Tanh', [x])[0]!.shape).toEqual([2]);
  });

  it('missing input, wrong dtype and wrong shape at run time', async () => {
    const graph = new Graph({ name: 'checked' });
    const x = graph.input('x', 'float32', ['batch', 3]);
    const mask = graph.input('mask', 'float32', ['batch']);
    const compiled = await CompiledGraph.create(graph, {
      outputs: { y: ops.mul(ops.reduceSum(x, { axes: [1], keepDims: false }), mask) },
    });
    const x2 = { data: new Float32Array(6), shape: [2, 3] };
    const missing = await caughtAsync(() => compiled.run({ x: x2 }));
    expect(MissingInputError.isInstance(missing)).toBe(true);
    expect((missing as Error).message).toBe(
      "Graph 'checked': no value for input 'mask' (expected float32[batch])",
    );
    const wrongDtype = await caughtAsync(() =>
      compiled.run({ x: x2, mask: { data: new Float64Array(2), shape: [2] } }),
    );
    expect(TensorDtypeError.isInstance(wrongDtype)).toBe(true);
    expect((wrongDtype as TensorDtypeError).dtypes).toEqual(['float64']);
    expect((wrongDtype as Error).message).toBe(
      "input 'mask' of graph 'checked': expected float32 (dtypes float64)",
    );
    const inconsistent = await caughtAsync(() =>
      compiled.run({ x: x2, mask: { data: new Float32Array(3), shape: [3] } }),
    );
    expect(TensorShapeError.isInstance(inconsistent)).toBe(true);
    expect((inconsistent as Error).message).toContain("'batch' is 2 elsewhere, 3 here");
    await expect(
      compiled.run({
        x: { data: new Float32Array(8), shape: [2, 4] },
        mask: { data: new Float32Array(2), shape: [2] },
      }),
    ).rejects.toThrow(/input 'x' of graph 'checked': axis 1 must be 3/);
    const result = await compiled.run({
      x: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] },
      mask: { data: Float32Array.from([1, 0]), shape: [2] },
    });
    expect(Array.from(result.y!.data as Float32Array)).toEqual([6, 0]);
    await compiled.dispose();
  });

  it('gradient errors: non-scalar loss, integer parameter, op without a rule', () => {
    const graph = new Graph();
    const w = graph.parameter('w', [3]);
    expect(() => grad(ops.tanh(w), [w])).toThrow(GradientError);
    expect(() => grad(ops.reduceSum(w), [graph.input('n', 'int32', [3])])).toThrow(
      /only floats have gradients/,
    );
    const scattered = ops.scatterND(
      w,
      graph.constant(BigInt64Array.of(0n), { dtype: 'int64', shape: [1, 1] }),
      ops.slice(w, { starts: [0], ends: [1] }),
    );
    expect(() => grad(ops.reduceSum(scattered), [w])).toThrow(/ScatterND: no gradient rule/);
  });

  it('the finite-difference checker catches a wrong gradient rule', async () => {
    const wrongTanh: OpDefinition = {
      opType: 'Tanh',
      inferOutputs: ({ inputs }) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }],
      gradient: ({ outputGradients }) => [outputGradients[0]!],
    };
    await expect(
      checkGradient({
        inputs: [{ shape: [3] }],
        build: (x) => x!.graph.addNode({ definition: wrongTanh, inputs: [x!] })[0]!,
      }),
    ).rejects.toThrow(/gradient mismatch/);
  });
});
