import { lazySchema } from '@arpo/core';
import { z } from 'zod';
import type { StandardDeviationMode } from '../statistics/group-statistics.js';

/** Options of `grpo`, `arpo_soft` and `arpo_hard`. */
export type GrpoEstimatorOptions = {
  /** Added to the group standard deviation. Default 1e-6 (verl). */
  epsilon?: number;
  /** Default `unbiased` (torch.std, as verl). */
  standardDeviation?: StandardDeviationMode;
  /** verl's `norm_adv_by_std_in_grpo`. Default true; false gives Dr.GRPO. */
  scaleByStandardDeviation?: boolean;
};

/**
 * How `arpo_hard` emits a token shared by several trajectories (a token of a tree node they all pass through).
 * - `per-trajectory` (default): in every trajectory's row, each time with the node's averaged advantage.
 * - `once`: only in the row of the first trajectory in the node's `trajectoryIndices`; the other rows get
 *   advantage 0 and a returned loss mask of 0 there, and the output carries the spans. Shared prefixes are then
 *   trained once.
 */
export type SharedTokenEmission = 'per-trajectory' | 'once';

/** Options of `arpo_hard`: GRPO's, plus how shared tokens are emitted. */
export type ArpoHardEstimatorOptions = GrpoEstimatorOptions & {
  /** Default `per-trajectory`. */
  sharedTokens?: SharedTokenEmission;
};

/** Options of `dr_grpo` (GRPO without the standard deviation, so no epsilon either). */
export type DrGrpoEstimatorOptions = Record<string, never>;

/** Options of `rloo` and `reinforce_plus_plus_baseline`: none. */
export type EmptyEstimatorOptions = Record<string, never>;

/** Options of `reinforce_plus_plus`. */
export type ReinforcePlusPlusOptions = {
  /** Discount per policy token. Default 1 (verl's `algorithm.gamma`). */
  gamma?: number;
  /**
   * Reproduce verl exactly: its return recursion resets at every mask-0 position (meant for padding after EOS),
   * so in a multi-turn trajectory every token before a tool result gets return 0. Default false: tool tokens
   * neither reset nor discount the return.
   */
  resetOnMaskedTokens?: boolean;
};

const grpoOptionFields = () => ({
  epsilon: z.number().min(0).optional(),
  standardDeviation: z.enum(['unbiased', 'population']).optional(),
  scaleByStandardDeviation: z.boolean().optional(),
});

export const grpoOptionsSchema = lazySchema<GrpoEstimatorOptions>('GRPO estimator options', () =>
  z.strictObject(grpoOptionFields()),
);

export const arpoHardOptionsSchema = lazySchema<ArpoHardEstimatorOptions>('ARPO hard estimator options', () =>
  z.strictObject({ ...grpoOptionFields(), sharedTokens: z.enum(['per-trajectory', 'once']).optional() }),
);

export const emptyOptionsSchema = lazySchema<EmptyEstimatorOptions>(
  'estimator options',
  () => z.strictObject({}) as unknown as z.ZodType<EmptyEstimatorOptions>,
);

export const reinforcePlusPlusOptionsSchema = lazySchema<ReinforcePlusPlusOptions>(
  'REINFORCE++ estimator options',
  () =>
    z.strictObject({
      gamma: z.number().min(0).max(1).optional(),
      resetOnMaskedTokens: z.boolean().optional(),
    }),
);
