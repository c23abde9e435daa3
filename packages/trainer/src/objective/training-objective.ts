import { type LossConfig, lossConfigSchema, parse } from '@arpo/core';
import { type LossBuilder, type LossContext, ops, type SymbolicTensor } from '@arpo/tensor';
import { stopGradient } from './stop-gradient.js';

/** Graph inputs besides the token ids every objective graph declares (all [batch, seq] unless noted). */
export const objectiveInputs = {
  weights: 'loss_weights',
  oldLogprobs: 'old_logprobs',
  advantages: 'advantages',
  referenceLogprobs: 'reference_logprobs',
  /** float [1]: the global token count (token-mean) or sequence count (seq-mean-*) to divide by. */
  normalizer: 'loss_normalizer',
} as const;

const logRatioClamp = 20;
const klValueClamp = 10;

/** Per-token KL estimate of log p − log p_ref (verl `kl_penalty`); `+` variants have k2's gradient. */
function klPenalty(
  logprobs: SymbolicTensor,
  reference: SymbolicTensor,
  estimator: NonNullable<LossConfig['klEstimator']>,
) {
  const difference = ops.sub(logprobs, reference);
  const base = estimator.replace('+', '') as 'k1' | 'abs' | 'k2' | 'k3';
  let value: SymbolicTensor;
  if (base === 'k1') value = difference;
  else if (base === 'abs') value = ops.abs(difference);
  else if (base === 'k2') value = ops.mul(ops.mul(difference, difference), 0.5);
  else {
    // low_var_kl: exp(ref − logp) − (ref − logp) − 1 with the log-ratio clamped to ±20 and the value to ±10.
    const negative = ops.clip(ops.neg(difference), { low: -logRatioClamp, high: logRatioClamp });
    value = ops.clip(ops.sub(ops.sub(ops.exp(negative), negative), 1), {
      low: -klValueClamp,
      high: klValueClamp,
    });
  }
  if (!estimator.endsWith('+')) return value;
  // Straight-through: the value of the base estimator, the gradient of k2 (value − k2 is a constant).
  const k2 = ops.mul(ops.mul(difference, difference), 0.5);
  const offset = ops.sub(value, k2);
  return ops.add(k2, stopGradient(offset));
}

/**
 * Reduces per-token values [batch, seq] to the scalar the aggregation mode defines, divided by the global
 * normalizer (so gradients accumulated over micro-batches equal those of the whole mini-batch).
 */
function aggregate(
  values: SymbolicTensor,
  weights: SymbolicTensor,
  normalizer: SymbolicTensor,
  config: LossConfig,
) {
  const mode = config.aggregation ?? 'token-mean';
  const weighted = ops.mul(values, weights);
  if (mode === 'token-mean' || mode === 'seq-mean-token-sum') {
    return ops.div(ops.reduceSum(weighted, { keepDims: false }), ops.reshape(normalizer, []));
  }
  if (mode === 'token-sum') return ops.reduceSum(weighted, { keepDims: false });
  const rowSums = ops.reduceSum(weighted, { axes: [1], keepDims: false });
  if (mode === 'seq-mean-token-mean') {
    const rowWeights = ops.max(ops.reduceSum(weights, { axes: [1], keepDims: false }), 1e-12);
    return ops.div(
      ops.reduceSum(ops.div(rowSums, rowWeights), { keepDims: false }),
      ops.reshape(normalizer, []),
    );
  }
  // seq-mean-token-sum-norm: divided by the horizon as well.
  const horizon = config.aggregationHorizon ?? 1;
  return ops.div(ops.reduceSum(rowSums, { keepDims: false }), ops.mul(ops.reshape(normalizer, []), horizon));
}

/** What the aggregation divides by, for a set of rows: tokens, sequences, or sequences with tokens. */
export function aggregationNormalizer(config: LossConfig, weights: readonly ArrayLike<number>[]): number {
  const mode = config.aggregation ?? 'token-mean';
  if (mode === 'token-mean') {
    let total = 0;
    for (const row of weights) for (let index = 0; index < row.length; index++) total += row[index] as number;
    return total;
  }
  if (mode === 'seq-mean-token-mean') {
    return weights.filter((row) => Array.prototype.some.call(row, (value: number) => value !== 0)).length;
  }
  return weights.length;
}

/**
 * The loss graph of a `LossConfig`, built on the model's log-probs: `cross_entropy` (−log p, weighted),
 * `importance_sampling` (−A·r) or `ppo` (clipped surrogate with separate low/high clip, dual clip c for negative
 * advantages, log-ratio clamped to ±20), aggregated by `aggregation`, plus `klCoefficient`·KL to a frozen
 * reference (k1/abs/k2/k3 and `+`) and − `entropyCoefficient`·entropy. Mirrors `computeReferenceObjective` of
 * @arpo/advantage (tested to agree).
 */
export function objectiveLossBuilder(config: LossConfig): LossBuilder {
  const loss = parse(lossConfigSchema, config);
  return (context: LossContext) => {
    const weights = context.tokenInput(objectiveInputs.weights);
    const normalizer = context.graph.input(objectiveInputs.normalizer, context.model.config.dtype, [1]);
    const logprobs = context.targetLogProbs;
    const metrics: Record<string, SymbolicTensor> = {};
    let tokenLoss: SymbolicTensor;
    if (loss.lossFunction === 'cross_entropy') {
      tokenLoss = ops.neg(logprobs);
    } else {
      const old = context.tokenInput(objectiveInputs.oldLogprobs);
      const advantages = context.tokenInput(objectiveInputs.advantages);
      const logRatio = ops.clip(ops.sub(logprobs, old), { low: -logRatioClamp, high: logRatioClamp });
      const ratio = ops.exp(logRatio);
      const unclipped = ops.neg(ops.mul(advantages, ratio));
      if (loss.lossFunction === 'importance_sampling') {
        tokenLoss = unclipped;
      } else {
        const clipLow = loss.clipLow ?? 0.2;
        const clipHigh = loss.clipHigh ?? clipLow;
        const bounded = ops.clip(ratio, { low: 1 - clipLow, high: 1 + clipHigh });
        const clippedLoss = ops.neg(ops.mul(advantages, bounded));
        tokenLoss = ops.max(clippedLoss, unclipped);
        const isClipped = ops.cast(ops.greater(clippedLoss, unclipped), context.model.config.dtype);
        const tokenCount = ops.max(ops.reduceSum(weights, { keepDims: false }), 1e-12);
        metrics.clip_fraction = ops.div(
          ops.reduceSum(ops.mul(isClipped, weights), { keepDims: false }),
          tokenCount,
        );
        if (loss.dualClip !== undefined) {
          const cap = ops.mul(ops.neg(advantages), loss.dualClip);
          const capped = ops.min(tokenLoss, cap);
          const negative = ops.less(advantages, 0);
          const isDual = ops.cast(ops.and(negative, ops.greater(tokenLoss, cap)), context.model.config.dtype);
          metrics.dual_clip_fraction = ops.div(
            ops.reduceSum(ops.mul(isDual, weights), { keepDims: false }),
            tokenCount,
          );
          tokenLoss = ops.where(negative, capped, tokenLoss);
        }
        metrics.approx_kl = ops.div(
          ops.reduceSum(ops.mul(ops.neg(logRatio), weights), { keepDims: false }),
          tokenCount,
        );
      }
    }
    const policyLoss = aggregate(tokenLoss, weights, normalizer, loss);
    metrics.policy_loss = policyLoss;
    let total = policyLoss;
    const klCoefficient = loss.klCoefficient ?? 0;
    if (klCoefficient !== 0) {
      const reference = context.tokenInput(objectiveInputs.referenceLogprobs);
      const kl = aggregate(
        klPenalty(logprobs, reference, loss.klEstimator ?? 'k3'),
        weights,
        normalizer,
        loss,
      );
      metrics.kl_loss = kl;
      total = ops.add(total, ops.mul(kl, klCoefficient));
    }
    const entropyCoefficient = loss.entropyCoefficient ?? 0;
    if (entropyCoefficient !== 0) {
      const entropy = ops.neg(
        ops.reduceSum(ops.mul(ops.exp(context.logProbs), context.logProbs), { axes: [2], keepDims: false }),
      );
      const aggregated = aggregate(entropy, weights, normalizer, loss);
      metrics.entropy = aggregated;
      total = ops.sub(total, ops.mul(aggregated, entropyCoefficient));
    }
    return { loss: total, metrics };
  };
}
