import type { SymbolicTensor } from '../graph/graph.js';
import { isStaticShape, shapeSize } from '../graph/shape.js';
import { add, cast, equal, less, mul } from './elementwise.js';
import { matmul } from './linear-algebra.js';
import { reshape, transpose, unsqueeze } from './shape-ops.js';

/**
 * Largest gathered axis for which the row gradient is a one-hot MatMul. The one-hot matrix holds
 * tokens × rows floats (2048 tokens × 16 384 rows is 128 MiB in float32); above this the gradient falls back to
 * ScatterND, which onnxruntime runs with unsynchronised adds across threads.
 */
export const oneHotGradientMaxRows = 16_384;

/**
 * The gradient of `Gather(data, indices, axis 0)` as one-hot(indices)ᵀ · dy, or undefined when it does not apply
 * (symbolic data shape, or more than `oneHotGradientMaxRows` rows). Why not ScatterND with reduction `add`:
 * onnxruntime's CPU kernel splits the updates across intra-op threads, so repeated indices (the same token twice in
 * a batch, the common case for an embedding) are summed in a thread-dependent order, and the result differs from
 * run to run; a MatMul sums each output element on one thread in a fixed order, so the same seed gives the same
 * weights.
 */
export function gatherRowsGradient(
  data: SymbolicTensor,
  indices: SymbolicTensor,
  outputGradient: SymbolicTensor,
): SymbolicTensor | undefined {
  if (!isStaticShape(data.shape) || data.rank < 1) return undefined;
  const rows = data.shape[0] as number;
  if (rows > oneHotGradientMaxRows) return undefined;
  const rowSize = shapeSize(data.shape.slice(1)) as number;
  const graph = data.graph;
  const flat = reshape(cast(indices, 'int64'), [-1]);
  // Gather accepts negative indices (counted from the end): normalise them like the op does.
  const rowCount = graph.constant(BigInt64Array.of(BigInt(rows)), { shape: [] });
  const zero = graph.constant(BigInt64Array.of(0n), { shape: [] });
  const normalised = add(flat, mul(cast(less(flat, zero), 'int64'), rowCount));
  const rowIds = graph.constant(
    BigInt64Array.from({ length: rows }, (_, index) => BigInt(index)),
    { shape: [1, rows] },
  );
  const oneHot = cast(equal(unsqueeze(normalised, [1]), rowIds), data.dtype);
  const gradientRows = reshape(outputGradient, [-1, rowSize]);
  return reshape(matmul(transpose(oneHot, [1, 0]), gradientRows), data.shape);
}
