import { ContextLengthError, InvalidArgumentError } from '@arpo/core';
import { buildLogitsGraph, compileGraph, DecoderTransformer, type TensorValue } from '@arpo/tensor';
import { createByteTokenizer, describePolicyConformance } from '@arpo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativePolicy } from '../src/native/native-policy.js';
import { expectRequestErrors } from './fixtures/expect-request-errors.js';

const tokenizer = createByteTokenizer();
const model = new DecoderTransformer({
  vocabSize: tokenizer.vocabularySize,
  contextLength: 96,
  modelDim: 32,
  layers: 2,
  heads: 4,
});
const parameters = model.initializeParameters({ seed: 7 });

function create(options: { prefixCacheTokens?: number } = {}) {
  return NativePolicy.create({ model, parameters, tokenizer, ...options });
}

describePolicyConformance('native policy', { create: () => create(), logprobTolerance: 2e-4 });

/** Log-softmax and entropy of every position, in float64, from an independent full forward pass. */
async function referenceDistributions(tokenIds: Int32Array) {
  const graph = await compileGraph(buildLogitsGraph(model));
  const feeds: Record<string, TensorValue> = { input_ids: { data: tokenIds, shape: [1, tokenIds.length] } };
  for (const [name, value] of parameters) feeds[name] = value;
  const logits = (await graph.run(feeds)).logits!.data as Float32Array;
  await graph.dispose();
  const vocabulary = model.config.vocabSize;
  return Array.from({ length: tokenIds.length }, (_, position) => {
    const row = Array.from(logits.subarray(position * vocabulary, (position + 1) * vocabulary));
    const maximum = Math.max(...row);
    const logSum = maximum + Math.log(row.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
    const logProbabilities = row.map((value) => value - logSum);
    const entropy = -logProbabilities.reduce(
      (sum, logProbability) => sum + Math.exp(logProbability) * logProbability,
      0,
    );
    return { logProbabilities, entropy };
  });
}

describe('NativePolicy', () => {
  let policy: NativePolicy;
  const prompt = tokenizer.encode('Compute 12*34 with python.', { addSpecialTokens: true });

  beforeAll(async () => {
    policy = await create();
  });
  afterAll(async () => {
    await policy.close();
  });

  it('reports logprobs and entropies equal to those of the full logits', async () => {
    const [result] = await policy.generate([
      { promptTokenIds: prompt, sampling: { maxTokens: 24, seed: 3 } },
    ]);
    const sequence = result!.sequences[0]!;
    const full = new Int32Array(prompt.length + sequence.tokenIds.length);
    full.set(prompt);
    full.set(sequence.tokenIds, prompt.length);
    const reference = await referenceDistributions(full);
    sequence.tokenIds.forEach((tokenId, index) => {
      const distribution = reference[prompt.length - 1 + index]!;
      expect(sequence.logprobs[index]).toBeCloseTo(distribution.logProbabilities[tokenId]!, 4);
      expect(sequence.entropies[index]).toBeCloseTo(distribution.entropy, 4);
    });
  });

  it('decodes a batch of different-length prompts exactly as it decodes each alone', async () => {
    const prompts = ['a', 'a longer prompt here', 'mid length'].map((text) =>
      tokenizer.encode(text, { addSpecialTokens: true }),
    );
    const requests = prompts.map((promptTokenIds, index) => ({
      promptTokenIds,
      sampling: { maxTokens: 16, seed: 100 + index },
    }));
    const together = await (await create()).generate(requests);
    for (const [index, request] of requests.entries()) {
      const alone = await (await create()).generate([request]);
      expect(Array.from(together[index]!.sequences[0]!.tokenIds)).toEqual(
        Array.from(alone[0]!.sequences[0]!.tokenIds),
      );
      expect(together[index]!.sequences[0]!.logprobs[5]).toBeCloseTo(alone[0]!.sequences[0]!.logprobs[5]!, 4);
    }
  });

  it('continues branches from a cached prefix exactly as from scratch, computing only new tokens', async () => {
    const warm = await create();
    const [first] = await warm.generate([{ promptTokenIds: prompt, sampling: { maxTokens: 20, seed: 5 } }]);
    const continuation = first!.sequences[0]!.tokenIds;
    const toolResult = tokenizer.encode('<result>408</result>');
    const context = new Int32Array(prompt.length + continuation.length + toolResult.length);
    context.set(prompt);
    context.set(continuation, prompt.length);
    context.set(toolResult, prompt.length + continuation.length);
    const before = warm.statistics();
    const branches = { promptTokenIds: context, sampling: { maxTokens: 12, seed: 9, topLogprobs: 5 }, n: 3 };
    const [forked] = await warm.generate([branches]);
    const after = warm.statistics();
    // Everything but the continuation's last token (never fed) and the tool result was reused.
    expect(forked!.usage.reusedPromptTokens).toBe(prompt.length + continuation.length - 1);
    expect(forked!.usage.computedPromptTokens).toBe(toolResult.length + 1);
    expect(after.computedTokens - before.computedTokens).toBe(
      toolResult.length + 1 + forked!.usage.completionTokens - countLastTokens(forked!),
    );
    const [cold] = await (await create({ prefixCacheTokens: 0 })).generate([branches]);
    expect(cold!.usage.reusedPromptTokens).toBe(0);
    forked!.sequences.forEach((sequence, index) => {
      const coldSequence = cold!.sequences[index]!;
      expect(Array.from(sequence.tokenIds)).toEqual(Array.from(coldSequence.tokenIds));
      expect(sequence.topLogprobs).toHaveLength(sequence.tokenIds.length);
      sequence.logprobs.forEach((logprob, position) => {
        expect(logprob).toBeCloseTo(coldSequence.logprobs[position]!, 4);
        expect(sequence.entropies[position]).toBeCloseTo(coldSequence.entropies[position]!, 4);
        const top = sequence.topLogprobs![position]!;
        const coldTop = coldSequence.topLogprobs![position]!;
        expect(top.tokenIds).toHaveLength(5);
        expect(Array.from(top.tokenIds)).toEqual(Array.from(coldTop.tokenIds));
        top.logprobs.forEach((topLogprob, rank) => {
          expect(topLogprob).toBeCloseTo(coldTop.logprobs[rank]!, 4);
        });
      });
    });
    expect(
      new Set(forked!.sequences.map((sequence) => Array.from(sequence.tokenIds).join(','))).size,
    ).toBeGreaterThan(1);
  });

  it('setParameters recompiles baked weights; fed weights (bakeParameters: false) give the same results', async () => {
    const other = model.initializeParameters({ seed: 8 });
    const request = { promptTokenIds: prompt, sampling: { maxTokens: 12, seed: 2 } };
    const swapped = await create();
    const [before] = await swapped.generate([request]);
    swapped.setParameters(other);
    const [after] = await swapped.generate([request]);
    const fresh = await NativePolicy.create({ model, parameters: other, tokenizer });
    const fed = await NativePolicy.create({ model, parameters: other, tokenizer, bakeParameters: false });
    const [expected] = await fresh.generate([request]);
    const [fedResult] = await fed.generate([request]);
    expect(Array.from(after!.sequences[0]!.logprobs)).toEqual(Array.from(expected!.sequences[0]!.logprobs));
    expect(Array.from(after!.sequences[0]!.logprobs)).not.toEqual(Array.from(before!.sequences[0]!.logprobs));
    expect(Array.from(fedResult!.sequences[0]!.tokenIds)).toEqual(
      Array.from(expected!.sequences[0]!.tokenIds),
    );
    fedResult!.sequences[0]!.logprobs.forEach((logprob, index) => {
      expect(logprob).toBeCloseTo(expected!.sequences[0]!.logprobs[index]!, 4);
    });
    expect(() => swapped.setParameters(new Map())).toThrow(/parameter 'embed.weight' is missing/);
    await Promise.all([swapped.close(), fresh.close(), fed.close()]);
  });

  it('rejects prompts beyond the context, token ids outside the vocabulary, and bad n, naming the request', async () => {
    await expect(
      policy.generate([{ promptTokenIds: new Int32Array(96).fill(5), sampling: { maxTokens: 1 } }]),
    ).rejects.toSatisfy((error: unknown) => ContextLengthError.isInstance(error));
    await expect(
      policy.generate([{ promptTokenIds: [1, 9999], sampling: { maxTokens: 1 } }]),
    ).rejects.toSatisfy(
      (error: unknown) =>
        InvalidArgumentError.isInstance(error) && error.message.includes('requests[0].promptTokenIds'),
    );
    await expectRequestErrors(policy, prompt);
  });
});

/** Each finished sequence's last token is sampled but never fed through the model. */
function countLastTokens(result: { sequences: { tokenIds: Int32Array }[] }) {
  return result.sequences.filter((sequence) => sequence.tokenIds.length > 0).length;
}
