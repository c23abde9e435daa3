import {
  type AdvantageEstimator,
  type AdvantageGroupInput,
  type AdvantageGroupOutput,
  parse,
} from '@arpo/core';
import { maskedWhiten } from '../statistics/masked-whiten.js';
import { checkGroups } from '../validation/check-groups.js';
import {
  type EmptyEstimatorOptions,
  emptyOptionsSchema,
  type ReinforcePlusPlusOptions,
  reinforcePlusPlusOptionsSchema,
} from './estimator-options.js';

/**
 * Per-token discounted returns of one trajectory whose only reward is `score` at its last policy token.
 * Masked positions get 0. With `resetOnMaskedTokens` the recursion is verl's (`running *= mask` after every
 * position); otherwise tool tokens are skipped (no reset, no discount step).
 */
export function discountedReturns(
  score: number,
  mask: Uint8Array,
  options: { gamma?: number; resetOnMaskedTokens?: boolean } = {},
): Float64Array {
  const gamma = options.gamma ?? 1;
  const reset = options.resetOnMaskedTokens === true;
  const returns = new Float64Array(mask.length);
  let last = mask.length - 1;
  while (last >= 0 && mask[last] === 0) last--;
  let running = 0;
  for (let position = mask.length - 1; position >= 0; position--) {
    const reward = position === last ? score : 0;
    if (mask[position] === 1) {
      running = reward + gamma * running;
      returns[position] = running;
    } else if (reset) {
      running = 0;
    }
  }
  return returns;
}

/** REINFORCE++: discounted token returns whitened over every policy token of the batch (verl `masked_whiten`). */
export function estimateReinforcePlusPlus(
  groups: readonly AdvantageGroupInput[],
  options: ReinforcePlusPlusOptions = {},
): AdvantageGroupOutput[] {
  const parsed = parse(reinforcePlusPlusOptionsSchema, options ?? {});
  checkGroups(groups);
  if (groups.length === 0) return [];
  const returns: Float64Array[] = [];
  const masks: Uint8Array[] = [];
  for (const group of groups) {
    group.lossMasks.forEach((mask, index) => {
      returns.push(discountedReturns(group.scores[index] as number, mask, parsed));
      masks.push(mask);
    });
  }
  const whitened = maskedWhiten(returns, masks, 'groups');
  return splitByGroup(
    groups,
    whitened,
    returns.map((row) => Float32Array.from(row)),
  );
}

/**
 * REINFORCE++ with a group baseline (verl `compute_reinforce_plus_plus_baseline_outcome_advantage`): subtract
 * the group mean from each score (singleton mean 0), broadcast to tokens, whiten over the batch, mask.
 */
export function estimateReinforcePlusPlusBaseline(
  groups: readonly AdvantageGroupInput[],
  options: EmptyEstimatorOptions = {},
): AdvantageGroupOutput[] {
  parse(emptyOptionsSchema, options ?? {});
  checkGroups(groups);
  if (groups.length === 0) return [];
  const values: Float64Array[] = [];
  const masks: Uint8Array[] = [];
  for (const group of groups) {
    const count = group.scores.length;
    let sum = 0;
    for (let index = 0; index < count; index++) sum += group.scores[index] as number;
    const mean = count > 1 ? sum / count : 0;
    group.lossMasks.forEach((mask, index) => {
      const centred = (group.scores[index] as number) - mean;
      const row = new Float64Array(mask.length);
      for (let position = 0; position < row.length; position++)
        row[position] = centred * (mask[position] as number);
      values.push(row);
      masks.push(mask);
    });
  }
  const whitened = maskedWhiten(values, masks, 'groups');
  return splitByGroup(groups, whitened, whitened);
}

function splitByGroup(
  groups: readonly AdvantageGroupInput[],
  advantages: Float32Array[],
  returns: Float32Array[],
): AdvantageGroupOutput[] {
  let offset = 0;
  return groups.map((group) => {
    const count = group.lossMasks.length;
    const output = {
      advantages: advantages.slice(offset, offset + count),
      returns: returns.slice(offset, offset + count),
    };
    offset += count;
    return output;
  });
}

export const reinforcePlusPlusEstimator: AdvantageEstimator<ReinforcePlusPlusOptions> = {
  name: 'reinforce_plus_plus',
  description: 'REINFORCE++: discounted token returns (gamma default 1) whitened over the whole batch.',
  estimate: estimateReinforcePlusPlus,
};

export const reinforcePlusPlusBaselineEstimator: AdvantageEstimator<EmptyEstimatorOptions> = {
  name: 'reinforce_plus_plus_baseline',
  description: 'REINFORCE++ baseline: score minus group mean, broadcast to tokens, whitened over the batch.',
  estimate: estimateReinforcePlusPlusBaseline,
};
