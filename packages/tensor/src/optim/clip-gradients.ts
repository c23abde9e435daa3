import type { TensorValue } from '../runtime/compiled-graph.js';

type FloatArray = Float32Array | Float64Array;

/** L2 norm over all gradients together (accumulated in float64). */
export function globalNorm(gradients: Iterable<TensorValue>): number {
  let sum = 0;
  for (const gradient of gradients) {
    const data = gradient.data as FloatArray;
    let partial = 0;
    for (let index = 0; index < data.length; index++) partial += data[index]! * data[index]!;
    sum += partial;
  }
  return Math.sqrt(sum);
}

/**
 * Scales all gradients in place so their global L2 norm is at most `maxNorm`. Returns the norm before
 * clipping and the scale applied (1 when already within bounds).
 */
export function clipByGlobalNorm(
  gradients: Iterable<TensorValue>,
  maxNorm: number,
): { norm: number; scale: number } {
  const list = [...gradients];
  const norm = globalNorm(list);
  const scale = norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  if (scale !== 1) {
    for (const gradient of list) {
      const data = gradient.data as FloatArray;
      for (let index = 0; index < data.length; index++) data[index] = data[index]! * scale;
    }
  }
  return { norm, scale };
}
