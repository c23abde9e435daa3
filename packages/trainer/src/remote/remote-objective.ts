import type { LossConfig, TrainingDatum } from '@arpo/core';
import { aggregationNormalizer } from '../objective/training-objective.js';
import type { TinkerDatum, TinkerForwardBackwardInput } from './tinker-wire.js';
import { UnsupportedRemoteFeatureError } from './unsupported-remote-feature-error.js';

// The local objective (objective/training-objective.ts) evaluated on the client from learner logprobs, with its
// gradient with respect to each logprob. A remote engine that sums per-token losses (Tinker semantics) then
// applies any such objective exactly: send `cross_entropy` with weights −∂L/∂lp (spec §5.1), or, on a
// per-sequence-mean engine, `importance_sampling` at ratio 1 with advantages −∂L/∂lp rescaled (spec §5.2).

const logRatioClamp = 20;
const klValueClamp = 10;

/** Datum weights, all 1 when absent (as the local engine packs them). */
export function datumWeights(datum: TrainingDatum): ArrayLike<number> {
  return datum.weights ?? new Float32Array(datum.inputTokenIds.length).fill(1);
}

/** What the local engine divides the aggregated loss by for this call. */
export function callNormalizer(batch: readonly TrainingDatum[], loss: LossConfig): number {
  return loss.normalizer ?? aggregationNormalizer(loss, batch.map(datumWeights));
}

/** Per datum: the factor each token's weighted loss is multiplied by in the aggregate (w excluded). */
export function aggregationScales(
  batch: readonly TrainingDatum[],
  loss: LossConfig,
  normalizer: number,
): number[] {
  const divisor = Math.max(normalizer, 1e-12);
  const mode = loss.aggregation ?? 'token-mean';
  return batch.map((datum) => {
    if (mode === 'token-sum') return 1;
    if (mode === 'token-mean' || mode === 'seq-mean-token-sum') return 1 / divisor;
    if (mode === 'seq-mean-token-mean') {
      const weights = datumWeights(datum);
      let sum = 0;
      for (let index = 0; index < weights.length; index++) sum += weights[index] as number;
      return 1 / (Math.max(sum, 1e-12) * divisor);
    }
    return 1 / (divisor * (loss.aggregationHorizon ?? 1));
  });
}

/** Throws for settings no remote engine can apply (the API returns logprobs of the targets only). */
export function checkRemoteLoss(loss: LossConfig): void {
  if ((loss.entropyCoefficient ?? 0) !== 0) {
    throw new UnsupportedRemoteFeatureError({
      feature: 'loss.entropyCoefficient',
      message:
        'an entropy term needs the full next-token distribution, which the Tinker API does not return; set it to 0 for remote training',
    });
  }
}

/** Why `loss` cannot be sent as one of the API's built-in losses, or undefined when it can. */
export function nativeLossObstacle(loss: LossConfig, batch: readonly TrainingDatum[]): string | undefined {
  if (loss.dualClip !== undefined) return 'dual-clip PPO is not a built-in loss (loss.dualClip)';
  if ((loss.klCoefficient ?? 0) !== 0)
    return 'a KL term is not part of the built-in losses (loss.klCoefficient)';
  if ((loss.entropyCoefficient ?? 0) !== 0) return 'loss.entropyCoefficient';
  if (loss.lossFunction === 'ppo') {
    for (const datum of batch) {
      const weights = datumWeights(datum);
      for (let index = 0; index < weights.length; index++)
        if ((weights[index] as number) < 0)
          return 'PPO with negative token weights cannot fold weights into advantages';
    }
  }
  return undefined;
}

function tokens(values: ArrayLike<number>): number[] {
  return Array.from(values);
}

/**
 * The built-in loss that computes `loss` with Tinker's sum semantics: the aggregation (token-mean, seq-mean, ...)
 * and the token weights are folded into the advantages (exact for PPO's clipped surrogate, which is equivariant
 * under positive scaling) or into the cross-entropy weights; weights sent for RL losses are the 0/1 mask.
 */
export function nativeLossInput(
  batch: readonly TrainingDatum[],
  loss: LossConfig,
  normalizer: number,
): TinkerForwardBackwardInput {
  const scales = aggregationScales(batch, loss, normalizer);
  const data: TinkerDatum[] = batch.map((datum, row) => {
    const scale = scales[row] as number;
    const weights = datumWeights(datum);
    const length = datum.inputTokenIds.length;
    if (loss.lossFunction === 'cross_entropy') {
      return tinkerDatum(datum, {
        weights: Float64Array.from({ length }, (_, index) => (weights[index] as number) * scale),
      });
    }
    const advantages = datum.advantages;
    return tinkerDatum(datum, {
      weights: Float64Array.from({ length }, (_, index) => ((weights[index] as number) !== 0 ? 1 : 0)),
      advantages: Float64Array.from(
        { length },
        (_, index) => ((advantages?.[index] as number | undefined) ?? 0) * (weights[index] as number) * scale,
      ),
      logprobs: datum.logprobs ?? new Float32Array(length),
    });
  });
  if (loss.lossFunction === 'ppo') {
    const clipLow = loss.clipLow ?? 0.2;
    const clipHigh = loss.clipHigh ?? clipLow;
    return {
      loss_fn: 'ppo',
      loss_fn_config: { clip_low_threshold: 1 - clipLow, clip_high_threshold: 1 + clipHigh },
      data,
    };
  }
  return { loss_fn: loss.lossFunction, data };
}

export interface ClientObjective {
  /** Same names and definitions as the local engine's metrics (loss, policy_loss, clip_fraction, ...). */
  metrics: Record<string, number>;
  /** Per datum, per token: ∂loss/∂logprob. */
  gradients: Float64Array[];
}

/** Value and logprob-gradient of one KL estimate (verl `kl_penalty`, as the local objective builds it). */
function klTerm(difference: number, estimator: NonNullable<LossConfig['klEstimator']>) {
  const base = estimator.replace('+', '');
  let value: number;
  let gradient: number;
  if (base === 'k1') {
    value = difference;
    gradient = 1;
  } else if (base === 'abs') {
    value = Math.abs(difference);
    gradient = Math.sign(difference);
  } else if (base === 'k2') {
    value = 0.5 * difference * difference;
    gradient = difference;
  } else {
    const negative = Math.min(logRatioClamp, Math.max(-logRatioClamp, -difference));
    const raw = Math.exp(negative) - negative - 1;
    value = Math.min(klValueClamp, Math.max(-klValueClamp, raw));
    const inside = raw > -klValueClamp && raw < klValueClamp && Math.abs(difference) < logRatioClamp;
    gradient = inside ? 1 - Math.exp(negative) : 0;
  }
  // Straight-through variants: the base estimator's value, k2's gradient.
  if (estimator.endsWith('+')) gradient = difference;
  return { value, gradient };
}

/**
 * The local objective's value, metrics and ∂L/∂lp, given the learner logprobs `logprobs` of each datum. Mirrors
 * `objectiveLossBuilder` token for token (log-ratio clamp ±20, PPO low/high clip, dual clip, KL estimators,
 * aggregations with the global normaliser) in float64.
 */
export function clientObjective(
  batch: readonly TrainingDatum[],
  loss: LossConfig,
  logprobs: readonly Float32Array[],
  normalizer: number,
): ClientObjective {
  checkRemoteLoss(loss);
  const scales = aggregationScales(batch, loss, normalizer);
  const clipLow = loss.clipLow ?? 0.2;
  const clipHigh = loss.clipHigh ?? clipLow;
  const klCoefficient = loss.klCoefficient ?? 0;
  let policyLoss = 0;
  let klLoss = 0;
  let weightSum = 0;
  let clipped = 0;
  let dualClipped = 0;
  let negativeLogRatio = 0;
  const gradients = batch.map((datum, row) => {
    const learner = logprobs[row] as Float32Array;
    const weights = datumWeights(datum);
    const scale = scales[row] as number;
    const out = new Float64Array(learner.length);
    for (let index = 0; index < learner.length; index++) {
      const weight = weights[index] as number;
      const logprob = learner[index] as number;
      weightSum += weight;
      let tokenLoss: number;
      let tokenGradient: number;
      if (loss.lossFunction === 'cross_entropy') {
        tokenLoss = -logprob;
        tokenGradient = -1;
      } else {
        const advantage = (datum.advantages?.[index] as number | undefined) ?? 0;
        const old = (datum.logprobs?.[index] as number | undefined) ?? 0;
        const rawLogRatio = logprob - old;
        const logRatio = Math.min(logRatioClamp, Math.max(-logRatioClamp, rawLogRatio));
        const ratio = Math.exp(logRatio);
        const ratioGradient = Math.abs(rawLogRatio) < logRatioClamp ? ratio : 0;
        const unclipped = -advantage * ratio;
        tokenLoss = unclipped;
        tokenGradient = -advantage * ratioGradient;
        if (loss.lossFunction === 'ppo') {
          const bounded = Math.min(1 + clipHigh, Math.max(1 - clipLow, ratio));
          const clippedLoss = -advantage * bounded;
          if (clippedLoss > unclipped) {
            tokenLoss = clippedLoss;
            tokenGradient = 0;
            clipped += weight;
          }
          if (loss.dualClip !== undefined && advantage < 0) {
            const cap = -advantage * loss.dualClip;
            if (tokenLoss > cap) {
              tokenLoss = cap;
              tokenGradient = 0;
              dualClipped += weight;
            }
          }
          negativeLogRatio += -logRatio * weight;
        }
      }
      policyLoss += weight * scale * tokenLoss;
      let gradient = weight * scale * tokenGradient;
      if (klCoefficient !== 0) {
        const reference = (datum.referenceLogprobs?.[index] as number | undefined) ?? 0;
        const kl = klTerm(logprob - reference, loss.klEstimator ?? 'k3');
        klLoss += weight * scale * kl.value;
        gradient += klCoefficient * weight * scale * kl.gradient;
      }
      out[index] = gradient;
    }
    return out;
  });
  const tokenCount = Math.max(weightSum, 1e-12);
  const metrics: Record<string, number> = {
    loss: policyLoss + klCoefficient * klLoss,
    policy_loss: policyLoss,
  };
  if (loss.lossFunction === 'ppo') {
    metrics.clip_fraction = clipped / tokenCount;
    if (loss.dualClip !== undefined) metrics.dual_clip_fraction = dualClipped / tokenCount;
    metrics.approx_kl = negativeLogRatio / tokenCount;
  }
  if (klCoefficient !== 0) metrics.kl_loss = klLoss;
  return { metrics, gradients };
}

/** A datum on the wire with the given per-token loss inputs (besides `target_tokens`). */
export function tinkerDatum(datum: TrainingDatum, inputs: Record<string, ArrayLike<number>>): TinkerDatum {
  const lossInputs: TinkerDatum['loss_fn_inputs'] = { target_tokens: { data: tokens(datum.targetTokenIds) } };
  for (const [name, array] of Object.entries(inputs)) lossInputs[name] = { data: Array.from(array) };
  return {
    model_input: { chunks: [{ type: 'encoded_text', tokens: tokens(datum.inputTokenIds) }] },
    loss_fn_inputs: lossInputs,
  };
}
