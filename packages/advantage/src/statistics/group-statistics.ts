import { InvalidArgumentError } from '@arpo/core';

/** `unbiased` divides by n - 1 (torch.std, verl's default); `population` divides by n (numpy's np.std). */
export type StandardDeviationMode = 'unbiased' | 'population';

export interface GroupStatisticsOptions {
  /** Default `unbiased`, as verl (`torch.std`). */
  standardDeviation?: StandardDeviationMode;
}

/** Mean and standard deviation of one group's scores, with verl's conventions. */
export interface GroupStatistics {
  count: number;
  mean: number;
  standardDeviation: number;
}

/**
 * Mean and standard deviation of a group's scores, in float64. A singleton group gets mean 0 and standard
 * deviation 1 (as verl: its advantage is its raw score). Empty groups and non-finite scores throw
 * `InvalidArgumentError`: verl would raise on the former and silently spread NaN through the group on the latter.
 */
export function groupStatistics(
  scores: ArrayLike<number>,
  options: GroupStatisticsOptions = {},
): GroupStatistics {
  const count = scores.length;
  if (count === 0) throw new InvalidArgumentError({ argument: 'scores', message: 'the group is empty' });
  let sum = 0;
  for (let index = 0; index < count; index++) {
    const score = scores[index] as number;
    if (!Number.isFinite(score)) {
      throw new InvalidArgumentError({
        argument: `scores[${index}]`,
        message: `score is ${String(score)}; scores must be finite numbers`,
      });
    }
    sum += score;
  }
  if (count === 1) return { count, mean: 0, standardDeviation: 1 };
  const mean = sum / count;
  // Two-pass variance: exact for the small groups estimators see, no catastrophic cancellation.
  let squares = 0;
  for (let index = 0; index < count; index++) {
    const deviation = (scores[index] as number) - mean;
    squares += deviation * deviation;
  }
  const divisor = options.standardDeviation === 'population' ? count : count - 1;
  return { count, mean, standardDeviation: Math.sqrt(squares / divisor) };
}

export interface NormalizeGroupOptions extends GroupStatisticsOptions {
  /** Added to the standard deviation before dividing. Default 1e-6 (verl). */
  epsilon?: number;
  /** Divide by the standard deviation (GRPO) or only subtract the mean (Dr.GRPO). Default true. */
  scaleByStandardDeviation?: boolean;
}

/**
 * GRPO's per-trajectory scalar advantage: `(score - mean) / (std + epsilon)`, or `score - mean` without
 * scaling. Returns float64 values in input order.
 */
export function normalizeGroupScores(
  scores: ArrayLike<number>,
  options: NormalizeGroupOptions = {},
): Float64Array {
  const statistics = groupStatistics(scores, options);
  const epsilon = options.epsilon ?? 1e-6;
  const scale = options.scaleByStandardDeviation === false ? 1 : 1 / (statistics.standardDeviation + epsilon);
  const result = new Float64Array(scores.length);
  for (let index = 0; index < result.length; index++) {
    result[index] = ((scores[index] as number) - statistics.mean) * scale;
  }
  return result;
}
