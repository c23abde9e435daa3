import {
  type AdvantageEstimator,
  type AdvantageGroupInput,
  type AdvantageGroupOutput,
  parse,
} from '@arpo/core';
import { normalizeGroupScores } from '../statistics/group-statistics.js';
import { checkGroups } from '../validation/check-groups.js';
import { broadcastToTokens } from './broadcast.js';
import {
  type DrGrpoEstimatorOptions,
  emptyOptionsSchema,
  type GrpoEstimatorOptions,
  grpoOptionsSchema,
} from './estimator-options.js';

/** The scalar GRPO advantage of every trajectory of one (already checked) group. */
export function grpoScalarAdvantages(
  group: AdvantageGroupInput,
  options: GrpoEstimatorOptions,
): Float64Array {
  return normalizeGroupScores(group.scores, {
    epsilon: options.epsilon,
    standardDeviation: options.standardDeviation,
    scaleByStandardDeviation: options.scaleByStandardDeviation,
  });
}

/** GRPO per group, broadcast to tokens; returns equal advantages (as verl). */
export function estimateGrpo(
  groups: readonly AdvantageGroupInput[],
  options: GrpoEstimatorOptions = {},
): AdvantageGroupOutput[] {
  const parsed = parse(grpoOptionsSchema, options ?? {});
  checkGroups(groups);
  return groups.map((group) => {
    const scalars = grpoScalarAdvantages(group, parsed);
    const advantages = group.lossMasks.map((mask, index) =>
      broadcastToTokens(scalars[index] as number, mask),
    );
    return { advantages, returns: advantages };
  });
}

/** `grpo`: `(score - mean) / (std + 1e-6)` per group with torch's unbiased std; singletons keep their score. */
export const grpoEstimator: AdvantageEstimator<GrpoEstimatorOptions> = {
  name: 'grpo',
  description: 'GRPO: group-normalised outcome advantage (score - mean) / (std + epsilon), verl conventions.',
  estimate: estimateGrpo,
};

/** `dr_grpo`: `score - mean` (Dr.GRPO removes the std division). */
export const drGrpoEstimator: AdvantageEstimator<DrGrpoEstimatorOptions> = {
  name: 'dr_grpo',
  description: 'Dr.GRPO: group mean-centred outcome advantage score - mean, no std normalisation.',
  estimate(groups, options) {
    parse(emptyOptionsSchema, options ?? {});
    return estimateGrpo(groups, { scaleByStandardDeviation: false });
  },
};

/**
 * `arpo_soft`: GRPO over all M trajectories of a tree. ARPO's released code uses verl's GRPO on the tree's
 * trajectories, so this is GRPO by construction; shared prefixes are trained once per trajectory.
 */
export const arpoSoftEstimator: AdvantageEstimator<GrpoEstimatorOptions> = {
  name: 'arpo_soft',
  description: 'ARPO soft attribution: GRPO over all trajectories of the rollout tree (identical to grpo).',
  estimate: estimateGrpo,
};
