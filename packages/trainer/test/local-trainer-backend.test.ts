import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  computeReferenceObjective,
  entropiesFromLogits,
  importanceRatio,
  klPenaltyGradient,
} from '@arpo/advantage';
import { createRandom, type KlEstimator, type LossConfig, type TrainingDatum } from '@arpo/core';
import { NativePolicy } from '@arpo/policy';
import { buildLogitsGraph, compileGraph, DecoderTransformer, type TensorValue } from '@arpo/tensor';
import { createByteTokenizer } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { packBatch, packedFeeds } from '../src/data/pack-batch.js';
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
    ['PPO token-mean with k1 KL', { lossFunction: 'ppo', klCoefficient: 0.2, klEstimator: 'k1' }],
    ['PPO token-mean with k2 KL', { lossFunction: 'ppo', klCoefficient: 0.2, klEstimator: 'k2' }],
    [
      'PPO token-sum with abs KL',
      { lossFunction: 'ppo', aggregation: 'token-sum', klCoefficient: 0.2, klEstimator: 'abs' },
    ],
    [
      'PPO dual clip with straight-through k3+ KL',
      {
        lossFunction: 'ppo',
        clipLow: 0.2,
        clipHigh: 0.28,
        dualClip: 3,
        klCoefficient: 0.3,
        klEstimator: 'k3+',
      },
    ],
    [
      'PPO seq-mean-token-sum with k1+ KL',
      { lossFunction: 'ppo', aggregation: 'seq-mean-token-sum', klCoefficient: 0.1, klEstimator: 'k1+' },
    ],
    [
      'cross-entropy seq-mean-token-sum',
      { lossFunction: 'cross_entropy', aggregation: 'seq-mean-token-sum' },
    ],
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

  it('agrees with the reference objective math given the same entropies (entropy bonus)', async () => {
    const backend = await createBackend();
    const data = randomData(3, 5);
    // Per-position entropies of the same weights, from the logits graph, as the reference math takes them.
    const logitsGraph = await compileGraph(buildLogitsGraph(model, { name: 'entropy-logits' }));
    const packed = packBatch(data, { contextLength: model.config.contextLength });
    const feeds: Record<string, TensorValue> = { input_ids: packedFeeds(packed).input_ids! };
    for (const [name, value] of backend.parameters) feeds[name] = value;
    const logits = (await logitsGraph.run(feeds)).logits!.data as Float32Array;
    await logitsGraph.dispose();
    const vocabulary = model.config.vocabSize;
    const entropies = data.map((datum, row) =>
      entropiesFromLogits(
        logits.subarray(row * packed.length * vocabulary, (row + 1) * packed.length * vocabulary),
        vocabulary,
      ).slice(0, datum.targetTokenIds.length),
    );
    for (const config of [
      { lossFunction: 'ppo', entropyCoefficient: 0.01 },
      {
        lossFunction: 'ppo',
        aggregation: 'seq-mean-token-mean',
        entropyCoefficient: 0.05,
        klCoefficient: 0.1,
      },
    ] as LossConfig[]) {
      const result = await backend.forwardBackward(data, config);
      backend.discardGradients();
      const reference = computeReferenceObjective({ data, logprobs: result.logprobs, entropies }, config);
      expect(result.metrics.entropy).toBeCloseTo(reference.entropy, 4);
      expect(result.metrics.loss).toBeCloseTo(reference.loss, 4);
      // The bonus really moved the loss: it is not the policy loss alone.
      expect(
        Math.abs(reference.loss - reference.policyLoss - (config.klCoefficient ?? 0) * reference.klLoss),
      ).toBeGreaterThan(1e-3);
    }
    await backend.close();
  });

  /**
   * d(loss)/d(logprob) per token from the reference math: the policy term (−A·r, zero where the PPO clip or the
   * dual clip is active) plus klCoefficient · the estimator's autograd gradient (k2's for the `+` variants),
   * times weight / token count (token-mean).
   */
  function tokenGradients(
    data: readonly TrainingDatum[],
    logprobs: readonly Float32Array[],
    config: LossConfig,
  ) {
    const tokens = data.reduce(
      (sum, datum) => sum + datum.weights!.reduce((total, weight) => total + weight, 0),
      0,
    );
    return data.map((datum, row) =>
      Float32Array.from(logprobs[row]!, (logprob, position) => {
        const weight = datum.weights![position]!;
        if (weight === 0) return 0;
        const advantage = datum.advantages![position]!;
        const ratio = importanceRatio(logprob, datum.logprobs![position]!);
        let policy = -advantage * ratio;
        if (config.lossFunction === 'ppo') {
          const low = config.clipLow ?? 0.2;
          const high = config.clipHigh ?? low;
          const bounded = Math.min(Math.max(ratio, 1 - low), 1 + high);
          const clippedActive = -advantage * bounded > -advantage * ratio;
          const dualActive =
            config.dualClip !== undefined &&
            advantage < 0 &&
            Math.max(-advantage * bounded, -advantage * ratio) > -advantage * config.dualClip;
          if (clippedActive || dualActive) policy = 0;
        }
        const kl = klPenaltyGradient(
          logprob,
          datum.referenceLogprobs![position]!,
          config.klEstimator ?? 'k3',
        );
        return (weight * (policy + (config.klCoefficient ?? 0) * kl)) / tokens;
      }),
    );
  }

  /** Parameter gradients of Σ c·log p, through the plain importance-sampling graph (ratio 1: old = current). */
  async function surrogateGradients(
    backend: LocalTrainerBackend,
    data: readonly TrainingDatum[],
    perToken: Float32Array[],
  ) {
    const current = await backend.forward(data);
    const surrogate = data.map((datum, row) => ({
      inputTokenIds: datum.inputTokenIds,
      targetTokenIds: datum.targetTokenIds,
      weights: new Float32Array(datum.targetTokenIds.length).fill(1),
      logprobs: current.logprobs[row]!,
      advantages: perToken[row]!.map((value) => -value),
    }));
    await backend.forwardBackward(surrogate, {
      lossFunction: 'importance_sampling',
      aggregation: 'token-sum',
    });
    const gradients = backend.accumulatedGradients();
    backend.discardGradients();
    return gradients;
  }

  function relativeError(actual: Map<string, Float32Array>, expected: Map<string, Float32Array>) {
    let difference = 0;
    let norm = 0;
    for (const [name, values] of expected) {
      const other = actual.get(name)!;
      values.forEach((value, index) => {
        difference += (value - other[index]!) ** 2;
        norm += value ** 2;
      });
    }
    return { error: Math.sqrt(difference / norm), norm: Math.sqrt(norm) };
  }

  const estimators: KlEstimator[] = ['k1', 'abs', 'k2', 'k3', 'k1+', 'k2+', 'k3+'];
  it.each(estimators)('has the analytic parameter gradient with the %s KL estimator', async (estimator) => {
    const backend = await createBackend(5);
    const data = randomData(11, 4);
    // k3+ also under the PPO clip and dual clip; the others with the plain importance-sampling term.
    const config: LossConfig =
      estimator === 'k3+'
        ? {
            lossFunction: 'ppo',
            clipLow: 0.2,
            clipHigh: 0.28,
            dualClip: 3,
            klCoefficient: 0.5,
            klEstimator: estimator,
          }
        : { lossFunction: 'importance_sampling', klCoefficient: 0.5, klEstimator: estimator };
    const trained = await backend.forwardBackward(data, config);
    const inGraph = backend.accumulatedGradients();
    backend.discardGradients();
    const expected = await surrogateGradients(backend, data, tokenGradients(data, trained.logprobs, config));
    const { error, norm } = relativeError(inGraph, expected);
    expect(norm).toBeGreaterThan(1e-4);
    expect(error).toBeLessThan(2e-3);
    if (estimator.endsWith('+') && estimator !== 'k2+') {
      // Straight-through: the gradient is k2's, measurably not that of the estimator's own value.
      const base = estimator.replace('+', '') as KlEstimator;
      const valueGradient = await surrogateGradients(
        backend,
        data,
        tokenGradients(data, trained.logprobs, { ...config, klEstimator: base }),
      );
      expect(relativeError(inGraph, valueGradient).error).toBeGreaterThan(1e-2);
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
