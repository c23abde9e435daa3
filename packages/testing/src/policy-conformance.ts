import {
  AbortedError,
  ContextLengthError,
  type GeneratedSequence,
  type Policy,
  ValidationError,
} from '@arpo/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

export interface PolicyConformanceOptions {
  /** Creates the policy under test once for the suite. */
  create: () => Policy | Promise<Policy>;
  /** Prompt text used by the checks. Default `'The answer is'`. */
  prompt?: string;
  /** New tokens per check. Default 12. */
  maxTokens?: number;
  /** Absolute tolerance when comparing `scoreTokens` with sampled logprobs. Default 1e-3. */
  logprobTolerance?: number;
}

function checkSequence(policy: Policy, sequence: GeneratedSequence, maxTokens: number) {
  const length = sequence.tokenIds.length;
  expect(sequence.logprobs.length).toBe(length);
  expect(sequence.entropies.length).toBe(length);
  expect(length).toBeLessThanOrEqual(maxTokens);
  expect(['eos', 'stop', 'length', 'abort']).toContain(sequence.finishReason);
  if (sequence.finishReason === 'length') expect(length).toBe(maxTokens);
  const maximumEntropy = Math.log(policy.vocabularySize) + 1e-4;
  for (let index = 0; index < length; index++) {
    const tokenId = sequence.tokenIds[index] as number;
    expect(tokenId).toBeGreaterThanOrEqual(0);
    expect(tokenId).toBeLessThan(policy.vocabularySize);
    const logprob = sequence.logprobs[index] as number;
    expect(Number.isFinite(logprob) && logprob <= 1e-6).toBe(true);
    const entropy = sequence.entropies[index] as number;
    expect(entropy).toBeGreaterThanOrEqual(-1e-6);
    if (policy.capabilities.entropy === 'exact') expect(entropy).toBeLessThanOrEqual(maximumEntropy);
  }
}

/**
 * The checks every `Policy` implementation must pass. Call it at the top level of a test file:
 * `describePolicyConformance('my policy', { create: () => createMyPolicy() })`.
 */
export function describePolicyConformance(name: string, options: PolicyConformanceOptions): void {
  const maxTokens = options.maxTokens ?? 12;
  describe(`Policy conformance: ${name}`, () => {
    let policy: Policy;
    let prompt: Int32Array;

    beforeAll(async () => {
      policy = await options.create();
      prompt = policy.tokenizer.encode(options.prompt ?? 'The answer is', { addSpecialTokens: true });
    });
    afterAll(async () => {
      await policy?.close?.();
    });

    it('describes itself consistently', () => {
      expect(policy.id.length).toBeGreaterThan(0);
      expect(policy.vocabularySize).toBeGreaterThan(0);
      expect(policy.tokenizer.vocabularySize).toBeLessThanOrEqual(policy.vocabularySize);
      expect(policy.contextLength).toBeGreaterThan(prompt.length);
      expect(['exact', 'top-k-estimate', 'none']).toContain(policy.capabilities.entropy);
    });

    it('returns one result per request and n sequences per result, with aligned per-token arrays', async () => {
      const results = await policy.generate([
        { promptTokenIds: prompt, sampling: { maxTokens, temperature: 1, seed: 1 } },
        { promptTokenIds: prompt, sampling: { maxTokens, temperature: 1, seed: 2 }, n: 3 },
      ]);
      expect(results).toHaveLength(2);
      expect(results[0]?.sequences).toHaveLength(1);
      expect(results[1]?.sequences).toHaveLength(3);
      for (const result of results) {
        expect(result.usage.promptTokens).toBe(prompt.length);
        expect(result.usage.reusedPromptTokens + result.usage.computedPromptTokens).toBe(prompt.length);
        let completion = 0;
        for (const sequence of result.sequences) {
          checkSequence(policy, sequence, maxTokens);
          completion += sequence.tokenIds.length;
          expect(sequence.text).toBe(policy.tokenizer.decode(sequence.tokenIds, { skipSpecialTokens: true }));
        }
        expect(result.usage.completionTokens).toBe(completion);
      }
    });

    it('gives the same tokens for the same seed', async () => {
      const request = { promptTokenIds: prompt, sampling: { maxTokens, temperature: 1, seed: 1234 } };
      const [first] = await policy.generate([request]);
      const [second] = await policy.generate([request]);
      expect(Array.from(second?.sequences[0]?.tokenIds ?? [])).toEqual(
        Array.from(first?.sequences[0]?.tokenIds ?? []),
      );
    });

    it('stops at a stop string, keeps it in the output and reports it', async () => {
      const [free] = await policy.generate([
        { promptTokenIds: prompt, sampling: { maxTokens, temperature: 0 } },
      ]);
      const freeText = free?.sequences[0]?.text ?? '';
      const visible = [...freeText].filter((character) => character.trim() !== '');
      if (visible.length === 0) return expect(free?.sequences[0]?.finishReason).toBeDefined();
      const stop = visible[Math.floor(visible.length / 2)] as string;
      const [stopped] = await policy.generate([
        { promptTokenIds: prompt, sampling: { maxTokens, temperature: 0, stop: [stop] } },
      ]);
      const sequence = stopped?.sequences[0];
      expect(sequence?.finishReason).toBe('stop');
      expect(sequence?.stopString).toBe(stop);
      const text = sequence?.text ?? '';
      const cut = text.indexOf(stop);
      expect(cut).toBeGreaterThanOrEqual(0);
      expect(freeText.startsWith(text.slice(0, cut + stop.length))).toBe(true);
    });

    it('honours max tokens', async () => {
      const [result] = await policy.generate([
        { promptTokenIds: prompt, sampling: { maxTokens: 1, seed: 3 } },
      ]);
      const sequence = result?.sequences[0];
      expect(sequence?.tokenIds.length).toBe(1);
      expect(['length', 'eos', 'stop']).toContain(sequence?.finishReason);
    });

    it('rejects invalid sampling options with a ValidationError naming the field', async () => {
      const attempt = policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens: 0 } }]);
      await expect(attempt).rejects.toSatisfy(
        (error: unknown) => ValidationError.isInstance(error) && error.field === 'maxTokens',
      );
      const badTopP = policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens: 2, topP: 1.5 } }]);
      await expect(badTopP).rejects.toSatisfy(
        (error: unknown) => ValidationError.isInstance(error) && error.field === 'topP',
      );
    });

    it('rejects a prompt longer than the context with a ContextLengthError', async () => {
      const long = new Int32Array(policy.contextLength + 1).fill(prompt[prompt.length - 1] ?? 0);
      await expect(policy.generate([{ promptTokenIds: long, sampling: { maxTokens: 1 } }])).rejects.toSatisfy(
        (error: unknown) => ContextLengthError.isInstance(error),
      );
    });

    it('rejects an already aborted call with an AbortedError', async () => {
      const controller = new AbortController();
      controller.abort();
      const attempt = policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens } }], {
        signal: controller.signal,
      });
      await expect(attempt).rejects.toSatisfy((error: unknown) => AbortedError.isInstance(error));
    });

    it('reuses a shared prefix when it says it can', async () => {
      if (!policy.capabilities.prefixReuse) return;
      const [first] = await policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens, seed: 5 } }]);
      const continuation = first?.sequences[0]?.tokenIds ?? new Int32Array();
      const extended = new Int32Array(prompt.length + continuation.length);
      extended.set(prompt);
      extended.set(continuation, prompt.length);
      const [second] = await policy.generate([
        { promptTokenIds: extended, sampling: { maxTokens: 2, seed: 6 } },
      ]);
      expect(second?.usage.reusedPromptTokens).toBeGreaterThanOrEqual(prompt.length - 1);
    });

    it('scores sampled tokens with the logprobs it reported (when it exposes logits)', async () => {
      if (!policy.capabilities.logits || policy.scoreTokens === undefined) return;
      const [result] = await policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens, seed: 9 } }]);
      const sequence = result?.sequences[0] as GeneratedSequence;
      const [scored] = await policy.scoreTokens([
        { promptTokenIds: prompt, completionTokenIds: sequence.tokenIds },
      ]);
      const tolerance = options.logprobTolerance ?? 1e-3;
      expect(scored?.logprobs.length).toBe(sequence.tokenIds.length);
      sequence.logprobs.forEach((logprob, index) => {
        expect(Math.abs((scored?.logprobs[index] as number) - logprob)).toBeLessThanOrEqual(tolerance);
      });
    });
  });
}
