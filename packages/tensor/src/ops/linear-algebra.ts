import { TensorShapeError } from '../errors/tensor-shape-error.js';
import { floatAttribute, intAttribute, readFloat, readInt } from '../graph/attribute.js';
import type { SymbolicTensor } from '../graph/graph.js';
import type { OpDefinition } from '../graph/op-definition.js';
import { broadcastShapes, type Dim, dimsCompatible } from '../graph/shape.js';
import { applyOp1, floatTypes, requireDtypes, requireInput, requireSameDtype, single } from './apply.js';
import { unbroadcast } from './broadcast-gradient.js';
import { mul } from './elementwise.js';
import { reshape, reshapeLike, transpose } from './shape-ops.js';

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, axis) => axis);
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}

export const matMulDefinition: OpDefinition = {
  opType: 'MatMul',
  inferOutputs(context) {
    const a = requireInput(context, 0);
    const b = requireInput(context, 1);
    const dtype = requireSameDtype(context, [0, 1]);
    requireDtypes(context, floatTypes);
    const mismatch = (detail: string) =>
      new TensorShapeError({ op: 'MatMul', detail, shapes: [a.shape, b.shape] });
    if (a.rank < 2 || b.rank < 2) throw mismatch('operands need rank >= 2');
    const [innerA, innerB] = [a.shape[a.rank - 1]!, b.shape[b.rank - 2]!];
    if (!dimsCompatible(innerA, innerB)) throw mismatch(`inner dimensions ${innerA} and ${innerB} differ`);
    const batch = broadcastShapes([a.shape.slice(0, -2), b.shape.slice(0, -2)]);
    if (!batch) throw mismatch('batch dimensions do not broadcast');
    return single(dtype, [...batch, a.shape[a.rank - 2]!, b.shape[b.rank - 1]!]);
  },
  gradient({ node, outputGradients, needsGradient }) {
    const [a, b] = node.inputs as [SymbolicTensor, SymbolicTensor];
    const dy = outputGradients[0]!;
    let da: SymbolicTensor | undefined;
    let db: SymbolicTensor | undefined;
    if (needsGradient[0]) {
      if (a.rank > 2 && b.rank === 2) da = matmul(dy, transpose(b, [1, 0]));
      else da = unbroadcast(matmul(dy, transpose(b, swapLastTwo(b.rank))), a);
    }
    if (needsGradient[1]) {
      if (b.rank === 2 && a.rank > 2) {
        // Fold the batch into rows: one [k, rows] x [rows, n] product instead of a batched one plus a sum.
        const k = a.shape[a.rank - 1]!;
        const n = dy.shape[dy.rank - 1]!;
        db = gemm(reshape(a, [-1, k]), reshape(dy, [-1, n]), { transposeA: true });
        db = reshapeLike(db, b);
      } else db = unbroadcast(matmul(transpose(a, swapLastTwo(a.rank)), dy), b);
    }
    return [da, db];
  },
};

export const gemmDefinition: OpDefinition = {
  opType: 'Gemm',
  inferOutputs(context) {
    const a = requireInput(context, 0);
    const b = requireInput(context, 1);
    const dtype = requireSameDtype(context, [0, 1]);
    requireDtypes(context, floatTypes);
    if (a.rank !== 2 || b.rank !== 2) {
      throw new TensorShapeError({ op: 'Gemm', detail: 'operands need rank 2', shapes: [a.shape, b.shape] });
    }
    const transposeA = readInt(context.attributes, 'transA', 0) === 1;
    const transposeB = readInt(context.attributes, 'transB', 0) === 1;
    const [m, kA] = transposeA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kB, n] = transposeB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (!dimsCompatible(kA, kB)) {
      throw new TensorShapeError({
        op: 'Gemm',
        detail: `inner dimensions ${kA} and ${kB} differ`,
        shapes: [a.shape, b.shape],
      });
    }
    const shape: Dim[] = [m, n];
    const c = context.inputs[2];
    if (c && !broadcastShapes([shape, c.shape])?.every((dim, axis) => dim === shape[axis])) {
      throw new TensorShapeError({
        op: 'Gemm',
        detail: 'C does not broadcast to [M, N]',
        shapes: [a.shape, b.shape, c.shape],
      });
    }
    return single(dtype, shape);
  },
  gradient({ node, outputGradients, needsGradient }) {
    const [a, b, c] = node.inputs as [SymbolicTensor, SymbolicTensor, SymbolicTensor | undefined];
    const transposeA = readInt(node.attributes, 'transA', 0) === 1;
    const transposeB = readInt(node.attributes, 'transB', 0) === 1;
    const alpha = readFloat(node.attributes, 'alpha', 1);
    const beta = readFloat(node.attributes, 'beta', 1);
    const dy = alpha === 1 ? outputGradients[0]! : mul(outputGradients[0]!, alpha);
    // Y = op(A) op(B): dA = dY op(B)^T (transposed back when A was), likewise for B.
    const da = !needsGradient[0]
      ? undefined
      : transposeA
        ? gemm(b, dy, { transposeA: transposeB, transposeB: true })
        : gemm(dy, b, { transposeB: !transposeB });
    const db = !needsGradient[1]
      ? undefined
      : transposeB
        ? gemm(dy, a, { transposeA: true, transposeB: transposeA })
        : gemm(a, dy, { transposeA: !transposeA });
    const dc =
      c && needsGradient[2]
        ? unbroadcast(beta === 1 ? outputGradients[0]! : mul(outputGradients[0]!, beta), c)
        : undefined;
    return [da, db, dc];
  },
};

/** Matrix product with numpy semantics (batched, broadcasting batch dims); operands need rank >= 2. */
export function matmul(a: SymbolicTensor, b: SymbolicTensor): SymbolicTensor {
  return applyOp1(matMulDefinition, [a, b]);
}

export interface GemmOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  alpha?: number;
  beta?: number;
}

/** alpha * op(A) op(B) + beta * C for rank-2 A and B (ONNX Gemm). */
export function gemm(
  a: SymbolicTensor,
  b: SymbolicTensor,
  options: GemmOptions = {},
  c?: SymbolicTensor,
): SymbolicTensor {
  return applyOp1(gemmDefinition, c ? [a, b, c] : [a, b], {
    transA: intAttribute(options.transposeA ? 1 : 0),
    transB: intAttribute(options.transposeB ? 1 : 0),
    alpha: floatAttribute(options.alpha ?? 1),
    beta: floatAttribute(options.beta ?? 1),
  });
}
