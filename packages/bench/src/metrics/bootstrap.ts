import { createRandom, InvalidArgumentError, type Random } from '@arpo/core';

/** A point estimate with a two-sided confidence interval. */
export interface ConfidenceInterval {
  estimate: number;
  lower: number;
  upper: number;
  /** Nominal coverage, for example 0.95. */
  confidence: number;
  method: 'percentile-bootstrap';
  resamples: number;
}

export interface BootstrapOptions {
  /** One value per independent unit (usually per dataset item, e.g. its mean score or its pass@k). */
  values: ArrayLike<number>;
  /** Nominal coverage in (0, 1). Default 0.95. */
  confidence?: number;
  /** Bootstrap resamples. Default 2000. */
  resamples?: number;
  /** Seed of the resampling; same seed, same interval. Default 0. Ignored when `random` is given. */
  seed?: number;
  random?: Random;
  /** Statistic of a resample; default the mean (computed without allocating per resample). */
  statistic?: (values: Float64Array) => number;
}

function quantileOfSorted(sorted: Float64Array, probability: number): number {
  // Linear interpolation between order statistics (type 7, the numpy/R default).
  const position = probability * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const fraction = position - below;
  return (sorted[below] as number) * (1 - fraction) + (sorted[above] as number) * fraction;
}

/**
 * Percentile bootstrap confidence interval: resample the units with replacement, recompute the statistic, and
 * take the (1-confidence)/2 and (1+confidence)/2 quantiles. Resampling items (not samples) is what makes it valid
 * for per-item metrics such as pass@k, whose samples within an item are not independent of each other.
 */
export function bootstrapConfidenceInterval(options: BootstrapOptions): ConfidenceInterval {
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const count = options.values.length;
  if (count === 0)
    throw new InvalidArgumentError({ argument: 'values', message: 'needs at least one value' });
  if (!(confidence > 0 && confidence < 1)) {
    throw new InvalidArgumentError({
      argument: 'confidence',
      message: `must be in (0, 1), got ${confidence}`,
    });
  }
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new InvalidArgumentError({
      argument: 'resamples',
      message: `must be a positive integer, got ${resamples}`,
    });
  }
  const values = Float64Array.from(options.values);
  for (let index = 0; index < count; index++) {
    if (!Number.isFinite(values[index] as number)) {
      throw new InvalidArgumentError({
        argument: `values[${index}]`,
        message: `must be finite, got ${values[index]}`,
      });
    }
  }
  const random = options.random ?? createRandom({ seed: options.seed ?? 0 });
  const statistic = options.statistic;
  const estimates = new Float64Array(resamples);
  const resample = statistic === undefined ? undefined : new Float64Array(count);
  for (let round = 0; round < resamples; round++) {
    if (resample === undefined || statistic === undefined) {
      let sum = 0;
      for (let index = 0; index < count; index++) sum += values[random.integer(count)] as number;
      estimates[round] = sum / count;
    } else {
      for (let index = 0; index < count; index++) resample[index] = values[random.integer(count)] as number;
      estimates[round] = statistic(resample);
    }
  }
  estimates.sort();
  let estimate: number;
  if (statistic === undefined) {
    let sum = 0;
    for (const value of values) sum += value;
    estimate = sum / count;
  } else estimate = statistic(values);
  const tail = (1 - confidence) / 2;
  return {
    estimate,
    lower: quantileOfSorted(estimates, tail),
    upper: quantileOfSorted(estimates, 1 - tail),
    confidence,
    method: 'percentile-bootstrap',
    resamples,
  };
}
