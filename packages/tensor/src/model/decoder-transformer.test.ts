import { describe, expect, it } from 'vitest';
import { checkGradient } from '../../test/gradient-check.js';
import { Graph } from '../graph/graph.js';
import * as ops from '../ops/index.js';
import { AdamW } from '../optim/adamw.js';
import type { TensorValue } from '../runtime/compiled-graph.js';
import { DecoderTransformer } from './decoder-transformer.js';
import {
  buildDecoderGraph,
  buildLogitsGraph,
  buildTrainingGraph,
  compileGraph,
} from './language-model-graphs.js';

const corpus = 'the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs. ';
const alphabet = [...new Set(corpus)].sort();

function feedsOf(
  parameters: Map<string, TensorValue>,
  extra: Record<string, TensorValue>,
): Record<string, TensorValue> {
  return { ...Object.fromEntries(parameters), ...extra };
}

describe('DecoderTransformer', () => {
  it('overfits a small corpus: loss below 0.05 within 120 AdamW steps', async () => {
    const model = new DecoderTransformer({
      vocabSize: alphabet.length,
      contextLength: 32,
      modelDim: 32,
      layers: 2,
      heads: 4,
    });
    const parameters = model.initializeParameters({ seed: 1 });
    const compiled = await compileGraph(buildTrainingGraph(model));
    const batch = 4;
    const seq = 24;
    const tokenIds = new Int32Array(batch * seq);
    const targetIds = new Int32Array(batch * seq);
    for (let row = 0; row < batch; row++) {
      for (let index = 0; index < seq; index++) {
        const position = row * 19 + index;
        tokenIds[row * seq + index] = alphabet.indexOf(corpus[position % corpus.length]!);
        targetIds[row * seq + index] = alphabet.indexOf(corpus[(position + 1) % corpus.length]!);
      }
    }
    const feeds = feedsOf(parameters, {
      input_ids: { data: tokenIds, shape: [batch, seq] },
      target_ids: { data: targetIds, shape: [batch, seq] },
      loss_mask: { data: new Float32Array(batch * seq).fill(1), shape: [batch, seq] },
    });
    const optimizer = new AdamW({ learningRate: 1e-2, weightDecay: 0 });
    const losses: number[] = [];
    for (let step = 0; step < 120; step++) {
      const outputs = await compiled.run(feeds);
      losses.push(Number(outputs.loss!.data[0]));
      const gradients = new Map([...parameters.keys()].map((name) => [name, outputs[`grad.${name}`]!]));
      optimizer.apply(parameters, gradients);
    }
    await compiled.dispose();
    expect(losses[0]).toBeGreaterThan(2.5);
    expect(losses.at(-1)).toBeLessThan(0.05);
  });

  it("a whole block's parameter gradients match finite differences (float64)", async () => {
    const model = new DecoderTransformer({
      vocabSize: 7,
      contextLength: 8,
      modelDim: 8,
      layers: 1,
      heads: 2,
      mlpDim: 12,
      activation: 'gelu-tanh',
      tieEmbeddings: false,
      dtype: 'float64',
    });
    const specs = model.parameterSpecs();
    const tokenIds = Int32Array.from([1, 4, 6, 2, 0, 3, 5, 1]);
    const result = await checkGradient({
      inputs: specs.map((spec) => ({ shape: [...spec.shape] })),
      build: (...tensors) => {
        const parameters = new Map(specs.map((spec, index) => [spec.name, tensors[index]!]));
        const ids = tensors[0]!.graph.constant(tokenIds, { dtype: 'int32', shape: [2, 4] });
        return ops.logSoftmax(model.forward(parameters, { tokenIds: ids }).logits);
      },
    });
    expect(result.checked).toBe(model.parameterCount());
  });

  it('KV-cache decoding (prefill with an empty cache, then one step) matches the full logits', async () => {
    const model = new DecoderTransformer({
      vocabSize: 11,
      contextLength: 16,
      modelDim: 16,
      layers: 2,
      heads: 4,
      positionEncoding: 'sinusoidal',
    });
    const parameters = model.initializeParameters({ seed: 4 });
    const tokens = Int32Array.from([3, 1, 4, 1, 5, 9, 2]);
    const full = await compileGraph(buildLogitsGraph(model));
    const fullLogits = (await full.run(feedsOf(parameters, { input_ids: { data: tokens, shape: [1, 7] } })))
      .logits!;
    const decoder = await compileGraph(buildDecoderGraph(model));
    const emptyCache: Record<string, TensorValue> = {};
    for (let layer = 0; layer < 2; layer++) {
      for (const kind of ['key', 'value']) {
        emptyCache[`past_key_values.${layer}.${kind}`] = { data: new Float32Array(0), shape: [1, 4, 0, 4] };
      }
    }
    const prefill = await decoder.run(
      feedsOf(parameters, {
        input_ids: { data: tokens.subarray(0, 6), shape: [1, 6] },
        position_ids: { data: Int32Array.from([0, 1, 2, 3, 4, 5]), shape: [1, 6] },
        attention_mask: { data: new Int32Array(6).fill(1), shape: [1, 6] },
        ...emptyCache,
      }),
    );
    expect(prefill['present.1.key']!.shape).toEqual([1, 4, 6, 4]);
    const cache: Record<string, TensorValue> = {};
    for (let layer = 0; layer < 2; layer++) {
      for (const kind of ['key', 'value'])
        cache[`past_key_values.${layer}.${kind}`] = prefill[`present.${layer}.${kind}`]!;
    }
    const step = await decoder.run(
      feedsOf(parameters, {
        input_ids: { data: tokens.subarray(6), shape: [1, 1] },
        position_ids: { data: Int32Array.from([6]), shape: [1, 1] },
        attention_mask: { data: new Int32Array(7).fill(1), shape: [1, 7] },
        ...cache,
      }),
    );
    const vocab = 11;
    const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>) => {
      for (let index = 0; index < expected.length; index++)
        expect(actual[index]).toBeCloseTo(expected[index]!, 4);
    };
    expectClose(
      prefill.logits!.data as Float32Array,
      (fullLogits.data as Float32Array).subarray(0, 6 * vocab),
    );
    expectClose(step.logits!.data as Float32Array, (fullLogits.data as Float32Array).subarray(6 * vocab));
    await full.dispose();
    await decoder.dispose();
  });

  it("cacheOutputs 'added' returns only this call's keys/values: the tail of 'present'", async () => {
    const model = new DecoderTransformer({
      vocabSize: 9,
      contextLength: 8,
      modelDim: 8,
      layers: 2,
      heads: 2,
    });
    const parameters = model.initializeParameters({ seed: 2 });
    const present = await compileGraph(buildDecoderGraph(model));
    const added = await compileGraph(buildDecoderGraph(model, { cacheOutputs: 'added' }));
    expect(added.outputNames).toEqual([
      'logits',
      'added.0.key',
      'added.0.value',
      'added.1.key',
      'added.1.value',
    ]);
    const feeds: Record<string, TensorValue> = {
      input_ids: { data: Int32Array.of(4, 2), shape: [1, 2] },
      position_ids: { data: Int32Array.of(3, 4), shape: [1, 2] },
      attention_mask: { data: Int32Array.of(0, 1, 1, 1, 1), shape: [1, 5] },
    };
    for (let layer = 0; layer < 2; layer++) {
      for (const kind of ['key', 'value']) {
        const past = Float32Array.from({ length: 2 * 3 * 4 }, (_, index) => Math.sin(index + layer));
        feeds[`past_key_values.${layer}.${kind}`] = { data: past, shape: [1, 2, 3, 4] };
      }
    }
    const full = await present.run(feedsOf(parameters, feeds));
    const tail = await added.run(feedsOf(parameters, feeds));
    expect(Array.from(tail.logits!.data as Float32Array)).toEqual(
      Array.from(full.logits!.data as Float32Array),
    );
    const presentKey = full['present.1.value']!.data as Float32Array;
    const addedKey = tail['added.1.value']!;
    expect(addedKey.shape).toEqual([1, 2, 2, 4]);
    for (let head = 0; head < 2; head++) {
      expect(Array.from((addedKey.data as Float32Array).subarray(head * 8, head * 8 + 8))).toEqual(
        Array.from(presentKey.subarray(head * 20 + 12, head * 20 + 20)),
      );
    }
    await present.dispose();
    await added.dispose();
  });

  it('attention_mask and position_ids make a left-padded row match the same prompt unpadded', async () => {
    const model = new DecoderTransformer({
      vocabSize: 9,
      contextLength: 8,
      modelDim: 8,
      layers: 1,
      heads: 2,
    });
    const parameters = model.initializeParameters({ seed: 6 });
    const decoder = await compileGraph(buildDecoderGraph(model));
    const cache = (batch: number): Record<string, TensorValue> => ({
      'past_key_values.0.key': { data: new Float32Array(0), shape: [batch, 2, 0, 4] },
      'past_key_values.0.value': { data: new Float32Array(0), shape: [batch, 2, 0, 4] },
    });
    const alone = await decoder.run(
      feedsOf(parameters, {
        input_ids: { data: Int32Array.from([5, 2, 7]), shape: [1, 3] },
        position_ids: { data: Int32Array.from([0, 1, 2]), shape: [1, 3] },
        attention_mask: { data: Int32Array.from([1, 1, 1]), shape: [1, 3] },
        ...cache(1),
      }),
    );
    const padded = await decoder.run(
      feedsOf(parameters, {
        input_ids: { data: Int32Array.from([0, 0, 5, 2, 7, 1, 3, 4, 6, 8]), shape: [2, 5] },
        position_ids: { data: Int32Array.from([0, 0, 0, 1, 2, 0, 1, 2, 3, 4]), shape: [2, 5] },
        attention_mask: { data: Int32Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]), shape: [2, 5] },
        ...cache(2),
      }),
    );
    const expected = alone.logits!.data as Float32Array;
    const actual = (padded.logits!.data as Float32Array).subarray(2 * 9, 5 * 9);
    for (let index = 0; index < expected.length; index++)
      expect(actual[index]).toBeCloseTo(expected[index]!, 5);
    await decoder.dispose();
  });

  it('builds a custom PPO objective in-graph on the target log-probs', async () => {
    const model = new DecoderTransformer({
      vocabSize: 5,
      contextLength: 4,
      modelDim: 8,
      layers: 1,
      heads: 2,
    });
    const parameters = model.initializeParameters({ seed: 2 });
    const clipLow = 0.2;
    const clipHigh = 0.28;
    const dualClip = 3;
    const training = buildTrainingGraph(model, {
      loss: (context) => {
        const oldLogProbs = context.tokenInput('old_logprobs');
        const advantages = context.tokenInput('advantages');
        const mask = context.tokenInput('loss_mask');
        const ratio = ops.exp(ops.sub(context.targetLogProbs, oldLogProbs));
        const clipped = ops.clip(ratio, { low: 1 - clipLow, high: 1 + clipHigh });
        const surrogate = ops.max(ops.neg(ops.mul(ratio, advantages)), ops.neg(ops.mul(clipped, advantages)));
        const dual = ops.min(surrogate, ops.mul(ops.neg(advantages), dualClip));
        const perToken = ops.where(ops.less(advantages, 0), dual, surrogate);
        const loss = ops.div(
          ops.reduceSum(ops.mul(perToken, mask), { keepDims: false }),
          ops.max(ops.reduceSum(mask, { keepDims: false }), 1),
        );
        return { loss, metrics: { ratio } };
      },
    });
    const compiled = await compileGraph(training);
    const logProbsGraph = await compileGraph(buildLogitsGraph(model, { withTargetLogProbs: true }));
    const tokenIds = Int32Array.from([1, 2, 3, 4, 0, 1]);
    const targetIds = Int32Array.from([2, 3, 4, 0, 1, 2]);
    const shape = [2, 3];
    const current = (
      await logProbsGraph.run(
        feedsOf(parameters, { input_ids: { data: tokenIds, shape }, target_ids: { data: targetIds, shape } }),
      )
    ).target_logprobs!.data as Float32Array;
    const oldLogProbs = Float32Array.from(
      current,
      (value, index) => value + [0.5, -0.5, 0.1, -2, 0, 0.3][index]!,
    );
    const advantages = Float32Array.from([1, -1, 2, -0.5, 0.7, -3]);
    const mask = Float32Array.from([1, 1, 1, 1, 0, 1]);
    const outputs = await compiled.run(
      feedsOf(parameters, {
        input_ids: { data: tokenIds, shape },
        target_ids: { data: targetIds, shape },
        old_logprobs: { data: oldLogProbs, shape },
        advantages: { data: advantages, shape },
        loss_mask: { data: mask, shape },
      }),
    );
    let expected = 0;
    for (let index = 0; index < 6; index++) {
      const ratio = Math.exp(current[index]! - oldLogProbs[index]!);
      const advantage = advantages[index]!;
      const clipped = Math.min(Math.max(ratio, 1 - clipLow), 1 + clipHigh);
      let value = Math.max(-ratio * advantage, -clipped * advantage);
      if (advantage < 0) value = Math.min(value, -advantage * dualClip);
      expected += value * mask[index]!;
    }
    expect(Number(outputs.loss!.data[0])).toBeCloseTo(expected / 5, 5);
    expect(outputs.ratio!.shape).toEqual(shape);
    expect(outputs['grad.embed.weight']!.shape).toEqual([5, 8]);
    await compiled.dispose();
    await logProbsGraph.dispose();
  });

  it('rejects an invalid config with a validation error naming the field', () => {
    expect(
      () => new DecoderTransformer({ vocabSize: 8, contextLength: 8, modelDim: 10, layers: 1, heads: 4 }),
    ).toThrow(/heads/);
  });

  it('declares parameters as graph inputs with their shapes', () => {
    const model = new DecoderTransformer({
      vocabSize: 8,
      contextLength: 8,
      modelDim: 8,
      layers: 1,
      heads: 2,
      tieEmbeddings: false,
    });
    const graph = new Graph();
    const declared = model.declareParameters(graph);
    expect(declared.get('head.weight')!.shape).toEqual([8, 8]);
    expect(graph.parameters).toHaveLength(model.parameterSpecs().length);
  });
});
