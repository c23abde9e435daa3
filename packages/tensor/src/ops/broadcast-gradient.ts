import type { SymbolicTensor } from '../graph/graph.js';
import { isStaticShape, shapeSize } from '../graph/shape.js';
import { int64Constant } from './constant-values.js';
import { gemm } from './linear-algebra.js';
import { reduceSum } from './reduce.js';
import { concat, filled, reshape, reshapeLike, shapeOf, slice, squeeze } from './shape-ops.js';

/**
 * Sums a gradient over the axes along which `target` was broadcast, so the result has `target`'s shape.
 * Which axes were broadcast is decided from the symbolic shapes, so no run-time shape logic is emitted.
 */
export function unbroadcast(gradient: SymbolicTensor, target: SymbolicTensor): SymbolicTensor {
  const leading = gradient.rank - target.rank;
  const axes: number[] = [];
  for (let axis = 0; axis < gradient.rank; axis++) {
    if (axis < leading) axes.push(axis);
    else if (target.shape[axis - leading] === 1 && gradient.shape[axis] !== 1) axes.push(axis);
  }
  if (axes.length === 0) return gradient;
  const prefix = axes.every((axis, index) => axis === index);
  const rest = gradient.shape.slice(axes.length);
  if (prefix && rest.length > 0 && isStaticShape(rest) && isStaticShape(target.shape)) {
    return reshapeLike(sumLeadingRows(gradient, shapeSize(rest)), target);
  }
  let reduced = reduceSum(gradient, { axes, keepDims: true });
  if (leading > 0)
    reduced = squeeze(
      reduced,
      Array.from({ length: leading }, (_, axis) => axis),
    );
  return reduced.shape.every((dim, index) => dim === target.shape[index])
    ? reduced
    : reshapeLike(reduced, target);
}

/**
 * Column sums of `x` viewed as [rows, columns], as a product with a ones vector: onnxruntime's GEMM is several
 * times faster than its ReduceSum over leading axes (bias and position-table gradients).
 */
function sumLeadingRows(x: SymbolicTensor, columns: number): SymbolicTensor {
  const matrix = reshape(x, [-1, columns]);
  const rows = matrix.shape[0]!;
  const ones =
    typeof rows === 'number'
      ? x.graph.constant(new (x.dtype === 'float64' ? Float64Array : Float32Array)(rows).fill(1), {
          dtype: x.dtype,
          shape: [1, rows],
        })
      : filled(
          concat([int64Constant(x.graph, [1]), slice(shapeOf(matrix), { starts: [0], ends: [1] })], 0),
          [1, rows],
          1,
          x.dtype === 'float64' ? 'float64' : 'float32',
        );
  return gemm(ones, matrix);
}
