import { aggregateLoss } from './aggregate-loss.js';
import { checkRows } from './check-rows.js';
import { checkClipOptions, clamp, type PolicyLossInput } from './policy-loss.js';

/** verl clamps GSPO's log sequence ratio from above only, at 10. */
export const gspoLogRatioCeiling = 10;

/**
 * GSPO's log sequence ratio: the masked mean of logprob - oldLogprob over the sequence (length clamped to ≥ 1),
 * i.e. log((π/π_old)^(1/|y|)).
 */
export function gspoSequenceLogRatio(
  logprobs: ArrayLike<number>,
  oldLogprobs: ArrayLike<number>,
  mask: ArrayLike<number>,
): number {
  checkRows({ name: 'logprobs', rows: [logprobs] }, [
    { name: 'oldLogprobs', rows: [oldLogprobs] },
    { name: 'mask', rows: [mask] },
  ]);
  let sum = 0;
  let length = 0;
  for (let position = 0; position < logprobs.length; position++) {
    const weight = mask[position] as number;
    if (weight === 0) continue;
    sum += ((logprobs[position] as number) - (oldLogprobs[position] as number)) * weight;
    length += weight;
  }
  return sum / Math.max(length, 1);
}

/** GSPO's sequence-level importance ratio exp(min(log ratio, 10)); every token of the sequence uses it. */
export function gspoSequenceRatio(
  logprobs: ArrayLike<number>,
  oldLogprobs: ArrayLike<number>,
  mask: ArrayLike<number>,
): number {
  return Math.exp(Math.min(gspoSequenceLogRatio(logprobs, oldLogprobs, mask), gspoLogRatioCeiling));
}

export interface GspoLossResult {
  /** Aggregated with `seq-mean-token-mean`, as verl's GSPO always does. */
  loss: number;
  tokenLosses: Float64Array[];
  sequenceRatios: Float64Array;
  clipFraction: number;
  /** Masked mean of oldLogprob - logprob (unclamped). */
  approxKl: number;
}

/**
 * GSPO's clipped loss (verl `compute_policy_loss_gspo`): per token max(-A·s, -A·clip(s, 1 - low, 1 + high)) with
 * the sequence ratio s, aggregated `seq-mean-token-mean`. No dual clip.
 */
export function computeGspoPolicyLoss(
  input: PolicyLossInput,
  options: { clipLow?: number; clipHigh?: number } = {},
): GspoLossResult {
  checkRows({ name: 'logprobs', rows: input.logprobs }, [
    { name: 'oldLogprobs', rows: input.oldLogprobs },
    { name: 'advantages', rows: input.advantages },
    { name: 'masks', rows: input.masks },
  ]);
  checkClipOptions(options);
  const clipLow = options.clipLow ?? 0.2;
  const clipHigh = options.clipHigh ?? clipLow;
  const sequenceRatios = new Float64Array(input.logprobs.length);
  let clipped = 0;
  let negativeLogRatio = 0;
  let weight = 0;
  const tokenLosses = input.logprobs.map((rowLogprobs, row) => {
    const rowOld = input.oldLogprobs[row] as ArrayLike<number>;
    const rowAdvantages = input.advantages[row] as ArrayLike<number>;
    const rowMask = input.masks[row] as ArrayLike<number>;
    const ratio = gspoSequenceRatio(rowLogprobs, rowOld, rowMask);
    sequenceRatios[row] = ratio;
    const bounded = clamp(ratio, 1 - clipLow, 1 + clipHigh);
    const losses = new Float64Array(rowLogprobs.length);
    for (let position = 0; position < losses.length; position++) {
      const mask = rowMask[position] as number;
      if (mask === 0) continue;
      const advantage = rowAdvantages[position] as number;
      const unclipped = -advantage * ratio;
      const clippedLoss = -advantage * bounded;
      if (clippedLoss > unclipped) clipped += mask;
      losses[position] = Math.max(clippedLoss, unclipped);
      negativeLogRatio -= ((rowLogprobs[position] as number) - (rowOld[position] as number)) * mask;
      weight += mask;
    }
    return losses;
  });
  return {
    loss: aggregateLoss(tokenLosses, input.masks, 'seq-mean-token-mean'),
    tokenLosses,
    sequenceRatios,
    clipFraction: weight === 0 ? 0 : clipped / weight,
    approxKl: weight === 0 ? 0 : negativeLogRatio / weight,
  };
}
