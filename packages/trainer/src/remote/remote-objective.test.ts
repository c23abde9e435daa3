import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LossConfig, TrainingDatum } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { createToySetup } from '../../test/support/toy-setup.js';
import { sequenceToDatum } from '../data/sequence-datum.js';
import { callNormalizer, clientObjective, nativeLossInput, nativeLossObstacle } from './remote-objective.js';

function batch(): TrainingDatum[] {
  const encoder = new TextEncoder();
  return [
    ['go 1', 'abcde', [1, 1, 0, 1, 1], 0.8],
    ['go 22', 'xy', [1, 1], -1.3],
    ['q', 'hello w', [1, 0, 0, 1, 1, 1, 1], 0.4],
  ].map(([prompt, response, mask, advantage]) => {
    const responseIds = Array.from(encoder.encode(response as string));
    return sequenceToDatum({
      promptTokenIds: Array.from(encoder.encode(prompt as string)),
      responseTokenIds: responseIds,
      lossMask: mask as number[],
      // Old logprobs far from the learner's in places, so ratios get clipped (both ways).
      logprobs: responseIds.map((_, index) => -5.5 + (index % 3) * 0.4),
      advantages: responseIds.map(() => advantage as number),
    });
  });
}

const configs: LossConfig[] = [
  { lossFunction: 'cross_entropy' },
  { lossFunction: 'importance_sampling', aggregation: 'seq-mean-token-sum' },
  { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.28 },
  { lossFunction: 'ppo', clipLow: 0.2, dualClip: 3, aggregation: 'seq-mean-token-mean', klCoefficient: 0.1 },
  {
    lossFunction: 'ppo',
    aggregation: 'seq-mean-token-sum-norm',
    aggregationHorizon: 16,
    klCoefficient: 0.05,
    klEstimator: 'k2+',
  },
  { lossFunction: 'importance_sampling', aggregation: 'token-sum', klCoefficient: 0.2, klEstimator: 'abs' },
];

describe('client-side objective', () => {
  it('gives the local engine’s metrics for every loss function and aggregation', async () => {
    const { backend, policy } = await createToySetup(mkdtempSync(join(tmpdir(), 'arpo-objective-')));
    const data = batch();
    for (const loss of configs) {
      const local = await backend.forwardBackward(data, loss);
      const client = clientObjective(data, loss, local.logprobs, callNormalizer(data, loss));
      for (const [name, value] of Object.entries(client.metrics)) {
        expect(local.metrics[name], `${loss.lossFunction}/${loss.aggregation}: ${name}`).toBeCloseTo(
          value,
          5,
        );
      }
    }
    await backend.close();
    await policy.close();
  }, 60_000);

  it('returns ∂loss/∂logprob (checked by central differences)', () => {
    const data = batch();
    const logprobs = data.map((datum) =>
      Float32Array.from(datum.logprobs!, (value, index) => value + 0.15 * ((index % 4) - 1)),
    );
    for (const loss of configs) {
      const normalizer = callNormalizer(data, loss);
      const { gradients } = clientObjective(data, loss, logprobs, normalizer);
      const step = 1e-3;
      data.forEach((_, row) => {
        for (let index = 0; index < logprobs[row]!.length; index++) {
          const shifted = (delta: number) =>
            logprobs.map((values, other) => {
              const copy = Float32Array.from(values);
              if (other === row) copy[index] = (copy[index] as number) + delta;
              return copy;
            });
          const up = clientObjective(data, loss, shifted(step), normalizer).metrics.loss!;
          const down = clientObjective(data, loss, shifted(-step), normalizer).metrics.loss!;
          expect(gradients[row]![index]!, `${loss.lossFunction} row ${row} token ${index}`).toBeCloseTo(
            (up - down) / (2 * step),
            3,
          );
        }
      });
    }
  });

  it('folds aggregation and weights into built-in losses, and names what cannot be folded', () => {
    const data = batch();
    const loss: LossConfig = { lossFunction: 'ppo', clipLow: 0.1, clipHigh: 0.3 };
    const input = nativeLossInput(data, loss, 10);
    expect(input.loss_fn).toBe('ppo');
    expect(input.loss_fn_config?.clip_low_threshold).toBeCloseTo(0.9);
    expect(input.loss_fn_config?.clip_high_threshold).toBeCloseTo(1.3);
    const first = input.data[0]!.loss_fn_inputs;
    const weights = data[0]!.weights!;
    weights.forEach((weight, index) => {
      expect(first.weights!.data[index]).toBe(weight === 0 ? 0 : 1);
      expect(first.advantages!.data[index]).toBeCloseTo(
        (weight * (data[0]!.advantages![index] as number)) / 10,
        6,
      );
    });
    expect(nativeLossObstacle({ lossFunction: 'ppo', dualClip: 3 }, data)).toMatch(/dual-clip/);
    expect(nativeLossObstacle({ lossFunction: 'ppo', klCoefficient: 0.1 }, data)).toMatch(/KL/);
    expect(nativeLossObstacle(loss, data)).toBeUndefined();
  });
});
