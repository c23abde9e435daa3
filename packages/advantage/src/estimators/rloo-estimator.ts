import {
  type AdvantageEstimator,
  type AdvantageGroupInput,
  type AdvantageGroupOutput,
  parse,
} from '@arpo/core';
import { checkGroups } from '../validation/check-groups.js';
import { broadcastToTokens } from './broadcast.js';
import { type EmptyEstimatorOptions, emptyOptionsSchema } from './estimator-options.js';

/**
 * RLOO: each score minus the mean of the other scores of its group, `n / (n - 1) * (score - mean)`. A singleton
 * group keeps its raw score (verl leaves it unchanged).
 */
export function estimateRloo(
  groups: readonly AdvantageGroupInput[],
  options: EmptyEstimatorOptions = {},
): AdvantageGroupOutput[] {
  parse(emptyOptionsSchema, options ?? {});
  checkGroups(groups);
  return groups.map((group) => {
    const count = group.scores.length;
    let sum = 0;
    for (let index = 0; index < count; index++) sum += group.scores[index] as number;
    const mean = sum / count;
    const factor = count > 1 ? count / (count - 1) : 1;
    const advantages = group.lossMasks.map((mask, index) => {
      const score = group.scores[index] as number;
      return broadcastToTokens(count > 1 ? (score - mean) * factor : score, mask);
    });
    return { advantages, returns: advantages };
  });
}

export const rlooEstimator: AdvantageEstimator<EmptyEstimatorOptions> = {
  name: 'rloo',
  description: 'RLOO: leave-one-out baseline, score minus the mean of the other scores of the group.',
  estimate: estimateRloo,
};
