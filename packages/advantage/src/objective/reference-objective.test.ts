import { InvalidArgumentError, type TrainingDatum, ValidationError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { aggregateLoss } from './aggregate-loss.js';
import { klPenalties } from './kl-penalty.js';
import { computePpoPolicyLoss } from './policy-loss.js';
import { computeReferenceObjective } from './reference-objective.js';

function datum(length: number, values: Partial<TrainingDatum>): TrainingDatum {
  return {
    inputTokenIds: new Int32Array(length),
    targetTokenIds: new Int32Array(length),
    ...values,
  };
}

const data = [
  datum(3, {
    weights: Float32Array.of(1, 1, 0),
    logprobs: Float32Array.of(-1, -2, -3),
    advantages: Float32Array.of(1, 1, 1),
    referenceLogprobs: Float32Array.of(-1.1, -1.8, -3),
  }),
  datum(2, {
    logprobs: Float32Array.of(-0.5, -0.7),
    advantages: Float32Array.of(-1, -1),
    referenceLogprobs: Float32Array.of(-0.4, -0.9),
  }),
];
const logprobs = [Float32Array.of(-0.8, -2.3, -1), Float32Array.of(-0.2, -0.9)];
const entropies = [Float32Array.of(1, 2, 3), Float32Array.of(0.5, 0.5)];
const masks = [Float32Array.of(1, 1, 0), Float32Array.of(1, 1)];

describe('computeReferenceObjective', () => {
  it('combines the PPO loss, the KL term and the entropy bonus as verl’s actor does', () => {
    const result = computeReferenceObjective(
      { data, logprobs, entropies },
      {
        lossFunction: 'ppo',
        clipLow: 0.2,
        clipHigh: 0.28,
        dualClip: 3,
        klCoefficient: 0.1,
        klEstimator: 'k3',
        entropyCoefficient: 0.01,
      },
    );
    const policy = computePpoPolicyLoss(
      {
        logprobs,
        oldLogprobs: data.map((d) => d.logprobs!),
        advantages: data.map((d) => d.advantages!),
        masks,
      },
      { clipLow: 0.2, clipHigh: 0.28, dualClip: 3 },
    );
    const kl = aggregateLoss(
      logprobs.map((row, index) => klPenalties(row, data[index]!.referenceLogprobs!, 'k3')),
      masks,
      'token-mean',
    );
    const entropy = aggregateLoss(entropies, masks, 'token-mean');
    expect(result.policyLoss).toBeCloseTo(policy.loss, 12);
    expect(result.klLoss).toBeCloseTo(kl, 12);
    expect(result.entropy).toBeCloseTo(entropy, 12);
    expect(result.loss).toBeCloseTo(policy.loss + 0.1 * kl - 0.01 * entropy, 12);
    expect(result.metrics.clipFraction).toBeCloseTo(policy.clipFraction, 12);
    expect(result.klLoss).toBeGreaterThan(0);
  });

  it('computes cross-entropy and importance-sampling token losses', () => {
    const crossEntropy = computeReferenceObjective({ data, logprobs }, { lossFunction: 'cross_entropy' });
    expect(crossEntropy.loss).toBeCloseTo((0.8 + 2.3 + 0.2 + 0.9) / 4, 6);
    const importance = computeReferenceObjective(
      { data, logprobs },
      { lossFunction: 'importance_sampling', aggregation: 'token-sum' },
    );
    const expected = -Math.exp(-0.8 + 1) - Math.exp(-2.3 + 2) + Math.exp(-0.2 + 0.5) + Math.exp(-0.9 + 0.7);
    expect(importance.loss).toBeCloseTo(expected, 6);
  });

  it('names missing inputs and rejects invalid loss configs', () => {
    const withoutAdvantages = [datum(1, { logprobs: Float32Array.of(0) })];
    let thrown: unknown;
    try {
      computeReferenceObjective(
        { data: withoutAdvantages, logprobs: [Float32Array.of(0)] },
        { lossFunction: 'ppo' },
      );
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect((thrown as InvalidArgumentError).argument).toBe('data[0].advantages');
    expect(() =>
      computeReferenceObjective({ data, logprobs }, { lossFunction: 'ppo', entropyCoefficient: 0.1 }),
    ).toThrow(/entropies/);
    expect(() =>
      computeReferenceObjective({ data, logprobs }, { lossFunction: 'ppo', dualClip: 0.5 }),
    ).toThrow(ValidationError);
    expect(() =>
      computeReferenceObjective({ data, logprobs: [logprobs[0]!] }, { lossFunction: 'ppo' }),
    ).toThrow(/rows/);
  });
});
