import { InvalidArgumentError } from '@arpo/core';

/** verl's `masked_whiten` adds this to the variance before the reciprocal square root. */
export const whitenEpsilon = 1e-8;

/** Masked mean and Bessel-corrected masked variance over every position of every row (verl `masked_var`). */
export function maskedMoments(
  values: readonly ArrayLike<number>[],
  masks: readonly ArrayLike<number>[],
): { mean: number; variance: number; weight: number } {
  let weight = 0;
  let sum = 0;
  for (let row = 0; row < values.length; row++) {
    const rowValues = values[row] as ArrayLike<number>;
    const rowMask = masks[row] as ArrayLike<number>;
    for (let position = 0; position < rowValues.length; position++) {
      const mask = rowMask[position] as number;
      weight += mask;
      sum += (rowValues[position] as number) * mask;
    }
  }
  const mean = sum / weight;
  let squares = 0;
  for (let row = 0; row < values.length; row++) {
    const rowValues = values[row] as ArrayLike<number>;
    const rowMask = masks[row] as ArrayLike<number>;
    for (let position = 0; position < rowValues.length; position++) {
      const deviation = (rowValues[position] as number) - mean;
      squares += deviation * deviation * (rowMask[position] as number);
    }
  }
  // Bessel correction on the masked count, as verl's masked_var(unbiased=True).
  return { mean, variance: (squares / weight) * (weight / (weight - 1)), weight };
}

/**
 * Whitens every row with statistics taken over the masked positions of the whole batch:
 * `(x - mean) / sqrt(var + 1e-8)` with the unbiased masked variance, then multiplies by the mask (verl's
 * `masked_whiten` followed by `* response_mask`). Writes into new Float32Arrays. Fewer than two masked
 * positions throw, as in verl (the Bessel correction divides by zero).
 */
export function maskedWhiten(
  values: readonly ArrayLike<number>[],
  masks: readonly ArrayLike<number>[],
  argument = 'values',
): Float32Array[] {
  const { mean, variance, weight } = maskedMoments(values, masks);
  if (!(weight >= 2)) {
    throw new InvalidArgumentError({
      argument,
      message: `batch whitening needs at least 2 policy tokens (mask = 1) in the batch, got ${weight}`,
    });
  }
  const scale = 1 / Math.sqrt(variance + whitenEpsilon);
  return values.map((rowValues, row) => {
    const rowMask = masks[row] as ArrayLike<number>;
    const result = new Float32Array(rowValues.length);
    for (let position = 0; position < result.length; position++) {
      const mask = rowMask[position] as number;
      if (mask !== 0) result[position] = ((rowValues[position] as number) - mean) * scale * mask;
    }
    return result;
  });
}
