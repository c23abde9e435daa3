import {
  InvalidArgumentError,
  type LossConfig,
  lossConfigSchema,
  parse,
  type TrainingDatum,
} from '@arpo/core';
import { aggregateLoss } from './aggregate-loss.js';
import { checkRows } from './check-rows.js';
import { klPenalties } from './kl-penalty.js';
import { computePpoPolicyLoss, importanceRatio } from './policy-loss.js';

export interface ReferenceObjectiveInput {
  data: readonly TrainingDatum[];
  /** Learner logprobs of each datum's targets under the current weights. */
  logprobs: readonly Float32Array[];
  /** Learner entropies per position; required when `entropyCoefficient` is non-zero. */
  entropies?: readonly Float32Array[];
}

export interface ReferenceObjectiveResult {
  /** policyLoss - entropyCoefficient · entropy + klCoefficient · klLoss (verl's actor loss). */
  loss: number;
  policyLoss: number;
  /** Aggregated KL estimate (0 when klCoefficient is 0). */
  klLoss: number;
  /** Aggregated entropy (0 when no entropies are given). */
  entropy: number;
  tokenLosses: Float64Array[];
  metrics: { clipFraction: number; clipFractionLower: number; approxKl: number };
}

function requireRows(data: readonly TrainingDatum[], key: 'logprobs' | 'advantages' | 'referenceLogprobs') {
  return data.map((datum, index) => {
    const rows = datum[key];
    if (rows === undefined) {
      throw new InvalidArgumentError({
        argument: `data[${index}].${key}`,
        message: `is required by this loss configuration`,
      });
    }
    return rows;
  });
}

/**
 * The training objective of a `LossConfig` evaluated in plain TypeScript, to check a trainer's in-graph loss or to
 * compute it for a remote backend. Per-token losses: `cross_entropy` -logprob; `importance_sampling` -A·r;
 * `ppo` the clipped surrogate. All are aggregated with `aggregation` (default `token-mean`) over the datum
 * weights (default 1).
 */
export function computeReferenceObjective(
  input: ReferenceObjectiveInput,
  config: LossConfig,
): ReferenceObjectiveResult {
  const loss = parse(lossConfigSchema, config);
  const { data, logprobs } = input;
  const weights = data.map((datum) => datum.weights ?? new Float32Array(datum.targetTokenIds.length).fill(1));
  checkRows({ name: 'logprobs', rows: logprobs }, [
    { name: 'data[].targetTokenIds', rows: data.map((datum) => datum.targetTokenIds) },
    { name: 'data[].weights', rows: weights },
    { name: 'entropies', rows: input.entropies },
  ]);
  const aggregation = loss.aggregation ?? 'token-mean';
  const horizon = loss.aggregationHorizon;
  let policyLoss: number;
  let tokenLosses: Float64Array[];
  let metrics = { clipFraction: 0, clipFractionLower: 0, approxKl: 0 };
  if (loss.lossFunction === 'ppo') {
    const result = computePpoPolicyLoss(
      {
        logprobs,
        oldLogprobs: requireRows(data, 'logprobs'),
        advantages: requireRows(data, 'advantages'),
        masks: weights,
      },
      {
        clipLow: loss.clipLow,
        clipHigh: loss.clipHigh,
        dualClip: loss.dualClip,
        aggregation,
        aggregationHorizon: horizon,
      },
    );
    policyLoss = result.loss;
    tokenLosses = result.tokenLosses;
    metrics = {
      clipFraction: result.clipFraction,
      clipFractionLower: result.clipFractionLower,
      approxKl: result.approxKl,
    };
  } else {
    const old = loss.lossFunction === 'importance_sampling' ? requireRows(data, 'logprobs') : undefined;
    const advantages =
      loss.lossFunction === 'importance_sampling' ? requireRows(data, 'advantages') : undefined;
    checkRows({ name: 'logprobs', rows: logprobs }, [
      { name: 'data[].logprobs', rows: old },
      { name: 'data[].advantages', rows: advantages },
    ]);
    tokenLosses = logprobs.map((row, index) => {
      const losses = new Float64Array(row.length);
      for (let position = 0; position < row.length; position++) {
        losses[position] =
          old === undefined || advantages === undefined
            ? -(row[position] as number)
            : -(advantages[index]![position] as number) *
              importanceRatio(row[position] as number, old[index]![position] as number);
      }
      return losses;
    });
    policyLoss = aggregateLoss(tokenLosses, weights, aggregation, { horizon });
  }
  let klLoss = 0;
  const klCoefficient = loss.klCoefficient ?? 0;
  if (klCoefficient !== 0) {
    const references = requireRows(data, 'referenceLogprobs');
    checkRows({ name: 'logprobs', rows: logprobs }, [{ name: 'data[].referenceLogprobs', rows: references }]);
    const estimator = loss.klEstimator ?? 'k3';
    const kl = logprobs.map((row, index) => klPenalties(row, references[index]!, estimator));
    klLoss = aggregateLoss(kl, weights, aggregation, { horizon });
  }
  const entropyCoefficient = loss.entropyCoefficient ?? 0;
  let entropy = 0;
  if (input.entropies !== undefined)
    entropy = aggregateLoss(input.entropies, weights, aggregation, { horizon });
  else if (entropyCoefficient !== 0) {
    throw new InvalidArgumentError({
      argument: 'entropies',
      message: 'are required when entropyCoefficient is set',
    });
  }
  return {
    loss: policyLoss - entropyCoefficient * entropy + klCoefficient * klLoss,
    policyLoss,
    klLoss,
    entropy,
    tokenLosses,
    metrics,
  };
}
