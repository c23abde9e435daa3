import { InvalidArgumentError, type LossAggregation } from '@arpo/core';
import { aggregateLoss } from './aggregate-loss.js';
import { checkRows } from './check-rows.js';

/** verl clamps the log-ratio to ±20 before exponentiating (exp(20) ≈ 4.9e8, no overflow). */
export const logRatioClamp = 20;

export interface PpoClipOptions {
  /** Ratio floor is 1 - clipLow. Default 0.2. */
  clipLow?: number;
  /** Ratio ceiling is 1 + clipHigh. Default: `clipLow` (verl's `clip_ratio_high` falls back to `clip_ratio`). */
  clipHigh?: number;
  /** Dual-clip constant c > 1: for negative advantages the loss is capped at -A · c. Undefined = off. */
  dualClip?: number;
}

/** `value` limited to [minimum, maximum] (NaN stays NaN), as torch.clamp. */
export function clamp(value: number, minimum: number, maximum: number): number {
  return Math.min(Math.max(value, minimum), maximum);
}

/** The importance ratio exp(clamp(logprob - oldLogprob, ±20)). */
export function importanceRatio(logprob: number, oldLogprob: number): number {
  const logRatio = logprob - oldLogprob;
  return Math.exp(clamp(logRatio, -logRatioClamp, logRatioClamp));
}

/**
 * PPO's clipped per-token loss for one ratio and advantage (verl `compute_policy_loss_vanilla`):
 * `max(-A·r, -A·clip(r, 1 - low, 1 + high))`, and for A < 0 with dual clip c also `min(that, -A·c)`.
 */
export function ppoTokenLoss(ratio: number, advantage: number, options: PpoClipOptions = {}): number {
  const clipLow = options.clipLow ?? 0.2;
  const clipHigh = options.clipHigh ?? clipLow;
  const unclipped = -advantage * ratio;
  const bounded = clamp(ratio, 1 - clipLow, 1 + clipHigh);
  const clipped = -advantage * bounded;
  const loss = Math.max(clipped, unclipped);
  if (options.dualClip !== undefined && advantage < 0) {
    const cap = -advantage * options.dualClip;
    return Math.min(cap, loss);
  }
  return loss;
}

export interface PolicyLossInput {
  /** Learner logprobs of the sampled tokens under the current weights, one row per sequence. */
  logprobs: readonly ArrayLike<number>[];
  /** Sampling-time (old policy) logprobs. */
  oldLogprobs: readonly ArrayLike<number>[];
  advantages: readonly ArrayLike<number>[];
  /** Loss masks or weights. */
  masks: readonly ArrayLike<number>[];
}

export interface PolicyLossOptions extends PpoClipOptions {
  /** Default `token-mean`. */
  aggregation?: LossAggregation;
  /** Horizon of `seq-mean-token-sum-norm`. */
  aggregationHorizon?: number;
}

export interface PolicyLossResult {
  /** The aggregated policy-gradient loss. */
  loss: number;
  /** Per-token losses (0 at masked positions). */
  tokenLosses: Float64Array[];
  /** Fraction of masked tokens where the ratio clip was active (verl `pg_clipfrac`). */
  clipFraction: number;
  /** Fraction of masked tokens where the dual clip was active, A < 0 (verl `pg_clipfrac_lower`). */
  clipFractionLower: number;
  /** Masked mean of oldLogprob - logprob with the clamped log-ratio (verl `ppo_kl`). */
  approxKl: number;
}

export function checkClipOptions(options: PpoClipOptions): void {
  const clipLow = options.clipLow ?? 0.2;
  const clipHigh = options.clipHigh ?? clipLow;
  if (!(clipLow >= 0 && clipLow <= 1)) {
    throw new InvalidArgumentError({ argument: 'clipLow', message: `must be in [0, 1], got ${clipLow}` });
  }
  if (!(clipHigh >= 0 && Number.isFinite(clipHigh))) {
    throw new InvalidArgumentError({
      argument: 'clipHigh',
      message: `must be a finite number >= 0, got ${clipHigh}`,
    });
  }
  if (options.dualClip !== undefined && !(options.dualClip > 1 && Number.isFinite(options.dualClip))) {
    throw new InvalidArgumentError({ argument: 'dualClip', message: `must be > 1, got ${options.dualClip}` });
  }
}

/**
 * PPO's clipped surrogate over a batch, with verl's metrics. Per token: log-ratio clamped to ±20, separate low
 * and high clip, optional dual clip for negative advantages; then aggregated with `aggregation`.
 */
export function computePpoPolicyLoss(
  input: PolicyLossInput,
  options: PolicyLossOptions = {},
): PolicyLossResult {
  checkRows({ name: 'logprobs', rows: input.logprobs }, [
    { name: 'oldLogprobs', rows: input.oldLogprobs },
    { name: 'advantages', rows: input.advantages },
    { name: 'masks', rows: input.masks },
  ]);
  checkClipOptions(options);
  const clipLow = options.clipLow ?? 0.2;
  const clipHigh = options.clipHigh ?? clipLow;
  const dualClip = options.dualClip;
  let clipped = 0;
  let dualClipped = 0;
  let negativeLogRatio = 0;
  let weight = 0;
  const tokenLosses = input.logprobs.map((rowLogprobs, row) => {
    const rowOld = input.oldLogprobs[row] as ArrayLike<number>;
    const rowAdvantages = input.advantages[row] as ArrayLike<number>;
    const rowMask = input.masks[row] as ArrayLike<number>;
    const losses = new Float64Array(rowLogprobs.length);
    for (let position = 0; position < losses.length; position++) {
      const mask = rowMask[position] as number;
      if (mask === 0) continue;
      const logRatio = clamp(
        (rowLogprobs[position] as number) - (rowOld[position] as number),
        -logRatioClamp,
        logRatioClamp,
      );
      const ratio = Math.exp(logRatio);
      const advantage = rowAdvantages[position] as number;
      const unclipped = -advantage * ratio;
      const bounded = clamp(ratio, 1 - clipLow, 1 + clipHigh);
      const clippedLoss = -advantage * bounded;
      let loss = Math.max(clippedLoss, unclipped);
      if (clippedLoss > unclipped) clipped += mask;
      if (dualClip !== undefined && advantage < 0) {
        const cap = -advantage * dualClip;
        if (loss > cap) {
          dualClipped += mask;
          loss = cap;
        }
      }
      losses[position] = loss;
      negativeLogRatio -= logRatio * mask;
      weight += mask;
    }
    return losses;
  });
  return {
    loss: aggregateLoss(tokenLosses, input.masks, options.aggregation ?? 'token-mean', {
      horizon: options.aggregationHorizon,
    }),
    tokenLosses,
    clipFraction: weight === 0 ? 0 : clipped / weight,
    clipFractionLower: weight === 0 ? 0 : dualClipped / weight,
    approxKl: weight === 0 ? 0 : negativeLogRatio / weight,
  };
}
