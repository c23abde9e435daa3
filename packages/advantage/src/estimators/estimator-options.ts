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

export const grpoOptionsSchema = lazySchema<GrpoEstimatorOptions>('GRPO estimator options', () =>
  z.strictObject({
    epsilon: z.number().min(0).optional(),
    standardDeviation: z.enum(['unbiased', 'population']).optional(),
    scaleByStandardDeviation: z.boolean().optional(),
  }),
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
