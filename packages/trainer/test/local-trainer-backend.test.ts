import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeReferenceObjective } from '@arpo/advantage';
import { createRandom, type LossConfig, type TrainingDatum } from '@arpo/core';
import { NativePolicy } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { createByteTokenizer } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { LocalTrainerBackend } from '../src/engine/local-trainer-backend.js';

const tokenizer = createByteTokenizer();
const model = new DecoderTransformer({
  vocabSize: tokenizer.vocabularySize,
  contextLength: 48,
  modelDim: 16,
  layers: 1,
  heads: 2,
});

async function createBackend(seed = 1) {
  const parameters = model.initializeParameters({ seed });
  const policy = await NativePolicy.create({ model, parameters, tokenizer });
  const directory = mkdtempSync(join(tmpdir(), 'arpo-trainer-'));
  return new LocalTrainerBackend({ model, parameters, policy, directory });
}

function randomData(seed: number, count: number): TrainingDatum[] {
  const random = createRandom({ seed });
  return Array.from({ length: count }, (_, row) => {
    const length = 10 + random.integer(20);
    const tokens = Int32Array.from({ length: length + 1 }, () => 3 + random.integer(250));
    const weights = Float32Array.from({ length }, (_, position) => (position < 3 + row ? 0 : 1));
    return {
      inputTokenIds: tokens.slice(0, length),
      targetTokenIds: tokens.slice(1),
      weights,
      logprobs: Float32Array.from({ length }, () => -5.6 + random.normal() * 0.3),
      advantages: Float32Array.from(
        { length },
        (_, position) => (position % 2 === 0 ? 1 : -1) * (0.5 + random.next()),
      ),
      referenceLogprobs: Float32Array.from({ length }, () => -5.6 + random.normal() * 0.2),
    };
  });
}

describe('LocalTrainerBackend objective', () => {
  const configs: [string, LossConfig][] = [
    ['cross-entropy token-mean', { lossFunction: 'cross_entropy' }],
    [
      'PPO DAPO clip, dual clip, token-mean',
      { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.28, dualClip: 3 },
    ],
    [
      'PPO seq-mean-token-mean with k3 KL',
      { lossFunction: 'ppo', aggregation: 'seq-mean-token-mean', klCoefficient: 0.1, klEstimator: 'k3' },
    ],
    [
      'PPO seq-mean-token-sum-norm with k2+ KL',
      {
        lossFunction: 'ppo',
        aggregation: 'seq-mean-token-sum-norm',
        aggregationHorizon: 32,
        klCoefficient: 0.05,
        klEstimator: 'k2+',
      },
    ],
    ['importance sampling token-sum', { lossFunction: 'importance_sampling', aggregation: 'token-sum' }],
  ];

  it.each(configs)('agrees with the reference objective math: %s', async (_name, config) => {
    const backend = await createBackend();
    const data = randomData(3, 5);
    const result = await backend.forwardBackward(data, config);
    const reference = computeReferenceObjective({ data, logprobs: result.logprobs }, config);
    expect(result.metrics.loss).toBeCloseTo(reference.loss, 4);
    if (config.lossFunction === 'ppo') {
      expect(result.metrics.clip_fraction).toBeCloseTo(reference.metrics.clipFraction, 5);
      expect(result.metrics.approx_kl).toBeCloseTo(reference.metrics.approxKl, 5);
      if (config.klCoefficient !== undefined) expect(result.metrics.kl_loss).toBeCloseTo(reference.klLoss, 5);
    }
    await backend.close();
  });

  it('recomputes the same logprobs in forward as in forwardBackward', async () => {
    const backend = await createBackend();
    const data = randomData(4, 3);
    const scored = await backend.forward(data);
    const trained = await backend.forwardBackward(data, { lossFunction: 'cross_entropy' });
    scored.logprobs.forEach((row, index) => {
      expect(row.length).toBe(data[index]!.targetTokenIds.length);
      row.forEach((value, position) => {
        expect(value).toBeCloseTo(trained.logprobs[index]![position]!, 5);
      });
    });
  });

  it('accumulates gradients over micro-batches exactly like one batch', async () => {
    const config: LossConfig = { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.28, dualClip: 3 };
    const data = randomData(5, 6);
    const whole = await createBackend(9);
    await whole.forwardBackward(data, config);
    await whole.optimStep({ learningRate: 1e-2 });
    const split = await createBackend(9);
    const tokens = data.reduce(
      (sum, datum) => sum + datum.weights!.reduce((total, weight) => total + weight, 0),
      0,
    );
    await split.forwardBackward(data.slice(0, 2), { ...config, normalizer: tokens });
    await split.forwardBackward(data.slice(2), { ...config, normalizer: tokens });
    const stepped = await split.optimStep({ learningRate: 1e-2 });
    expect(stepped.metrics.accumulated_batches).toBe(2);
    for (const [name, value] of whole.parameters) {
      const other = split.parameters.get(name)!.data;
      value.data.forEach((number, index) => {
        expect(Number(number)).toBeCloseTo(Number(other[index]), 5);
      });
    }
  });

  it('lowers the loss of a batch it steps on, and syncs the sampling policy', async () => {
    const backend = await createBackend(2);
    const data = randomData(6, 4);
    const config: LossConfig = { lossFunction: 'cross_entropy' };
    const before = await backend.forwardBackward(data, config);
    await backend.optimStep({ learningRate: 3e-2 });
    const after = await backend.forwardBackward(data, config);
    expect(after.metrics.loss!).toBeLessThan(before.metrics.loss!);
    const prompt = data[0]!.inputTokenIds.subarray(0, 5);
    const [sampled] = await backend.sample([
      { promptTokenIds: prompt, sampling: { maxTokens: 3, temperature: 0 } },
    ]);
    const [scored] = await backend.policy.scoreTokens([
      { promptTokenIds: prompt, completionTokenIds: sampled!.sequences[0]!.tokenIds },
    ]);
    // The sampler uses the stepped weights: its logprobs match a fresh score under them.
    sampled!.sequences[0]!.logprobs.forEach((logprob, index) => {
      expect(scored!.logprobs[index]).toBeCloseTo(logprob, 4);
    });
    const rescored = await backend.forward([
      { inputTokenIds: data[0]!.inputTokenIds, targetTokenIds: data[0]!.targetTokenIds },
    ]);
    expect(rescored.logprobs).toHaveLength(1);
    expect(after.logprobs[0]![5]).toBeCloseTo(rescored.logprobs[0]![5]!, 4);
  });

  it('skips an update whose loss is not finite, keeping the weights, and trains on afterwards', async () => {
    const backend = await createBackend(4);
    const data = randomData(8, 2);
    data[0]!.advantages![5] = Number.NaN;
    data[0]!.weights![5] = 1;
    const before = Float32Array.from(backend.parameters.get('embed.weight')!.data as Float32Array);
    const poisoned = await backend.forwardBackward(data, { lossFunction: 'ppo' });
    expect(Number.isNaN(poisoned.metrics.loss)).toBe(true);
    const skipped = await backend.optimStep({ learningRate: 1e-2 });
    expect(skipped.metrics.skipped).toBe(1);
    expect(Array.from(backend.parameters.get('embed.weight')!.data as Float32Array)).toEqual(
      Array.from(before),
    );
    data[0]!.advantages![5] = 1;
    await backend.forwardBackward(data, { lossFunction: 'ppo' });
    const stepped = await backend.optimStep({ learningRate: 1e-2 });
    expect(stepped.metrics.skipped).toBe(0);
    expect(stepped.metrics.accumulated_batches).toBe(1);
    expect(Array.from(backend.parameters.get('embed.weight')!.data as Float32Array)).not.toEqual(
      Array.from(before),
    );
  });

  it('saves and restores weights and optimizer state exactly', async () => {
    const backend = await createBackend(3);
    const data = randomData(7, 3);
    const config: LossConfig = { lossFunction: 'cross_entropy' };
    await backend.forwardBackward(data, config);
    await backend.optimStep({ learningRate: 1e-2 });
    const { path } = await backend.saveState('step-1');
    await backend.forwardBackward(data, config);
    await backend.optimStep({ learningRate: 1e-2 });
    const continued = new Map(
      [...backend.parameters].map(([name, value]) => [name, Float32Array.from(value.data as Float32Array)]),
    );
    const restored = await createBackend(99);
    await restored.loadState(path);
    expect(restored.step).toBe(1);
    await restored.forwardBackward(data, config);
    await restored.optimStep({ learningRate: 1e-2 });
    for (const [name, value] of restored.parameters)
      expect(Array.from(value.data as Float32Array)).toEqual(Array.from(continued.get(name)!));
    await expect(restored.loadState(join(path, 'nope'))).rejects.toThrow(/state.json/);
  });
});
