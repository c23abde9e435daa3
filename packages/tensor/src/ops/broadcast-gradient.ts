import type { SymbolicTensor } from '../graph/graph.js';
import { reduceSum } from './reduce.js';
import { reshapeLike, squeeze } from './shape-ops.js';

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
