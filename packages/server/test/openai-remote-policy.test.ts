import type { GenerationRequest } from '@arpo/core';
import { RemotePolicy, RemotePolicyError, RemoteTokenMismatchError } from '@arpo/policy';
import { describePolicyConformance } from '@arpo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiServer, type OpenAiServer } from '../src/index.js';
import { createTinyPolicy } from './support-openai/tiny-policy.js';

let server: OpenAiServer;
const servedPolicies: { close(): Promise<void> }[] = [];

async function startServer() {
  const { policy } = await createTinyPolicy();
  servedPolicies.push(policy);
  return createOpenAiServer({ policy, modelId: 'tiny' });
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
  for (const policy of servedPolicies) await policy.close();
});

describePolicyConformance('RemotePolicy against the OpenAI server', {
  create: async () => {
    const { tokenizer } = await createTinyPolicy();
    return RemotePolicy.create({ endpoints: server.baseUrl, model: 'tiny', tokenizer });
  },
});

describe('RemotePolicy', () => {
  it('returns exactly what the in-process policy returns for the same seeds, batched or not', async () => {
    const { policy: local, tokenizer } = await createTinyPolicy();
    const remote = await RemotePolicy.create({ endpoints: server.baseUrl, model: 'tiny', tokenizer });
    const prompt = tokenizer.encode('abc def', { addSpecialTokens: true });
    const requests: GenerationRequest[] = [1, 2, 3].map((seed) => ({
      promptTokenIds: prompt,
      sampling: { maxTokens: 20, seed, topLogprobs: 4, stop: ['x'] },
      n: seed === 2 ? 3 : 1,
    }));
    const expected = await local.generate(requests);
    const actual = await remote.generate(requests);
    expect(remote.capabilities.entropy).toBe('exact');
    for (const [index, result] of actual.entries()) {
      const wanted = expected[index];
      expect(result.sequences).toHaveLength(wanted?.sequences.length ?? -1);
      result.sequences.forEach((sequence, position) => {
        const reference = wanted?.sequences[position];
        expect(Array.from(sequence.tokenIds)).toEqual(Array.from(reference?.tokenIds ?? []));
        expect(Array.from(sequence.logprobs)).toEqual(Array.from(reference?.logprobs ?? []));
        expect(Array.from(sequence.entropies)).toEqual(Array.from(reference?.entropies ?? []));
        expect(sequence.finishReason).toBe(reference?.finishReason);
        expect(sequence.stopString).toBe(reference?.stopString);
        expect(sequence.topLogprobs?.map((top) => Array.from(top.tokenIds))).toEqual(
          reference?.topLogprobs?.map((top) => Array.from(top.tokenIds)),
        );
      });
    }
    await local.close();
  });

  it('estimates entropy from top-k logprobs when the server sends no exact entropy, within its bound', async () => {
    const { policy: local, tokenizer } = await createTinyPolicy();
    const remote = await RemotePolicy.create({
      endpoints: server.baseUrl,
      model: 'tiny',
      tokenizer,
      // Strip the ARPO.ts extension, as a vLLM server would not send it.
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        const body = (await response.json()) as {
          data?: { arpo?: unknown }[];
          choices?: { logprobs?: { token_entropies?: unknown } }[];
        };
        for (const card of body.data ?? []) delete card.arpo;
        for (const choice of body.choices ?? []) delete choice.logprobs?.token_entropies;
        return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
      },
    });
    expect(remote.capabilities.entropy).toBe('top-k-estimate');
    const prompt = tokenizer.encode('entropy', { addSpecialTokens: true });
    const request = { promptTokenIds: prompt, sampling: { maxTokens: 8, seed: 4 } };
    const [estimated] = await remote.generate([request]);
    const [exact] = await local.generate([request]);
    const estimatedSequence = estimated?.sequences[0];
    expect(Array.from(estimatedSequence?.tokenIds ?? [])).toEqual(
      Array.from(exact?.sequences[0]?.tokenIds ?? []),
    );
    estimatedSequence?.entropies.forEach((entropy, position) => {
      const truth = exact?.sequences[0]?.entropies[position] as number;
      // The estimate is a lower bound of the exact entropy (20 of 259 tokens seen).
      expect(entropy).toBeLessThanOrEqual(truth + 1e-4);
      expect(entropy).toBeGreaterThan(0);
    });
    await local.close();
  });

  it('spreads requests over several endpoints and keeps a branch on the endpoint that saw its prefix', async () => {
    const second = await startServer();
    try {
      const { tokenizer } = await createTinyPolicy();
      const remote = await RemotePolicy.create({
        endpoints: [server.baseUrl, second.baseUrl],
        model: 'tiny',
        tokenizer,
        balancing: 'round-robin',
        affinityTokens: 8,
      });
      const prompts = ['first prompt, long enough', 'second prompt, long enough'].map((text) =>
        tokenizer.encode(text, { addSpecialTokens: true }),
      );
      await remote.generate(
        prompts.map((prompt) => ({ promptTokenIds: prompt, sampling: { maxTokens: 4, seed: 1 } })),
      );
      const perEndpoint = remote.statistics().endpoints.map((endpoint) => endpoint.requests);
      expect(perEndpoint).toEqual([1, 1]);
      // A branch of the second prompt: round-robin would send it to the first endpoint; prefix affinity keeps
      // it on the second, whose prefix cache holds the prompt.
      const sharedBefore = remote.statistics().sharedPrefixTokens;
      const branch = new Int32Array([...(prompts[1] as Int32Array), 65, 66]);
      const [result] = await remote.generate([
        { promptTokenIds: branch, sampling: { maxTokens: 2, seed: 2 } },
      ]);
      expect(remote.statistics().endpoints.map((endpoint) => endpoint.requests)).toEqual([1, 2]);
      expect(remote.statistics().sharedPrefixTokens - sharedBefore).toBe((prompts[1] as Int32Array).length);
      expect(result?.usage.reusedPromptTokens).toBeGreaterThan(0);
    } finally {
      await second.close();
    }
  });

  it('retries 503s with backoff; re-tokenising refuses text that does not give back the tokens', async () => {
    const { policy: local, tokenizer } = await createTinyPolicy();
    let failures = 2;
    const remote = await RemotePolicy.create({
      endpoints: server.baseUrl,
      model: 'tiny',
      tokenizer,
      initialRetryDelayMs: 1,
      fetch: async (input, init) => {
        if (String(input).endsWith('/completions') && failures-- > 0)
          return new Response('{"error":{"message":"busy"}}', { status: 503 });
        return fetch(input, init);
      },
    });
    const request = {
      promptTokenIds: tokenizer.encode('retry', { addSpecialTokens: true }),
      sampling: { maxTokens: 10, seed: 12 },
    };
    const [result] = await remote.generate([request]);
    const [expected] = await local.generate([request]);
    expect(remote.statistics().retries).toBe(2);
    expect(Array.from(result?.sequences[0]?.tokenIds ?? [])).toEqual(
      Array.from(expected?.sequences[0]?.tokenIds ?? []),
    );
    // An untrained byte model emits invalid UTF-8: its text decodes with U+FFFD and cannot give the ids back.
    const retokenizing = await RemotePolicy.create({
      endpoints: server.baseUrl,
      model: 'tiny',
      tokenizer,
      tokenIds: 'retokenize',
    });
    await expect(retokenizing.generate([request])).rejects.toSatisfy((error: unknown) =>
      RemoteTokenMismatchError.isInstance(error),
    );
    const failing = await RemotePolicy.create({
      endpoints: server.baseUrl,
      model: 'tiny',
      tokenizer,
      attempts: 2,
      initialRetryDelayMs: 1,
      fetch: async (input, init) =>
        String(input).endsWith('/completions')
          ? new Response('{"error":{"message":"busy"}}', { status: 503 })
          : fetch(input, init),
    });
    await expect(failing.generate([request])).rejects.toSatisfy(
      (error: unknown) => RemotePolicyError.isInstance(error) && error.status === 503 && error.isRetryable,
    );
    await local.close();
  });
});
