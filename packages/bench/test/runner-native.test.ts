import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvaluation } from '../src/runner/run-evaluation.js';
import { sumItems } from './support/scripted-setup.js';
import { createTinyPolicy, noToolsProtocol } from './support/tiny-policy.js';

let tiny: Awaited<ReturnType<typeof createTinyPolicy>>;
beforeAll(async () => {
  tiny = await createTinyPolicy();
});
afterAll(async () => {
  await tiny.policy.close?.();
});

describe('runEvaluation with an in-process NativePolicy', () => {
  it('evaluates a real model: every sample generated, tokenised, scored and timed; same seed, same result', async () => {
    const options = {
      policy: tiny.policy,
      protocol: noToolsProtocol,
      dataset: sumItems(3),
      samples: 2,
      systemPrompt: null,
      settings: { seed: 5, maxResponseTokens: 12, temperature: 1 },
    };
    const first = await runEvaluation({ ...options, batchSize: 3, concurrency: 1 });
    expect(first.records).toHaveLength(6);
    for (const record of first.records) {
      expect(record.tokens.model).toBeGreaterThan(0);
      expect(record.tokens.response).toBe(record.tokens.model);
      expect(record.tokens.prompt).toBeGreaterThan(10);
      expect(['eos', 'length']).toContain(record.finishReason);
      expect(record.latencyMs).toBeGreaterThan(0);
      expect(record.transcript?.[0]?.kind).toBe('model');
    }
    // A random byte model does not answer sums.
    expect(first.summary.accuracy.estimate).toBe(0);
    expect(first.summary.toolUsage.calls).toBe(0);
    expect(first.summary.toolUsage.productivity).toBeUndefined();
    expect(new Set(first.records.map((record) => record.response)).size).toBeGreaterThan(1);
    const again = await runEvaluation({ ...options, batchSize: 1, concurrency: 2 });
    expect(again.records.map((record) => record.response)).toEqual(
      first.records.map((record) => record.response),
    );
  });
});
