import { AbortedError, type GeneratedTokenEvent } from '@arpo/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenerationBatcher } from '../src/index.js';
import { GatedPolicy } from './support-openai/gated-policy.js';
import { createTinyPolicy } from './support-openai/tiny-policy.js';

let served: Awaited<ReturnType<typeof createTinyPolicy>>;
beforeAll(async () => {
  served = await createTinyPolicy();
});
afterAll(async () => {
  await served.policy.close();
});

const request = (text: string, seed: number, n = 1) => ({
  promptTokenIds: served.tokenizer.encode(text, { addSpecialTokens: true }),
  sampling: { maxTokens: 6, seed },
  n,
});

describe('GenerationBatcher token routing', () => {
  it('routes token events of one batched call to each submitter by prompt index', async () => {
    const gated = new GatedPolicy(served.policy);
    // Flushes when 4 sequences are queued; the long window only keeps the submits together.
    const batcher = new GenerationBatcher(gated, { maxBatch: 4, maxQueue: 8, gatherWindowMs: 60_000 });
    const first: [number, GeneratedTokenEvent][] = [];
    const second: [number, GeneratedTokenEvent][] = [];
    const [pair, single] = await Promise.all([
      batcher.submitAll([request('one', 1, 2), request('two', 2)], {
        onToken: (promptIndex, event) => first.push([promptIndex, event]),
      }),
      batcher.submitAll([request('three', 3)], {
        onToken: (promptIndex, event) => second.push([promptIndex, event]),
      }),
    ]);
    expect(gated.calls).toBe(1);
    const tokensOf = (events: [number, GeneratedTokenEvent][], promptIndex: number, sequenceIndex: number) =>
      events
        .filter(([index, event]) => index === promptIndex && event.sequenceIndex === sequenceIndex)
        .map(([, event]) => event.tokenId);
    expect(tokensOf(first, 0, 0)).toEqual(Array.from(pair![0]!.sequences[0]!.tokenIds));
    expect(tokensOf(first, 0, 1)).toEqual(Array.from(pair![0]!.sequences[1]!.tokenIds));
    expect(tokensOf(first, 1, 0)).toEqual(Array.from(pair![1]!.sequences[0]!.tokenIds));
    expect(tokensOf(second, 0, 0)).toEqual(Array.from(single![0]!.sequences[0]!.tokenIds));
    expect(first.length + second.length).toBe(gated.events.length);
  });

  it('keeps a batch running when one listener throws, and stops calling that listener', async () => {
    const batcher = new GenerationBatcher(served.policy, {
      maxBatch: 2,
      maxQueue: 8,
      gatherWindowMs: 60_000,
    });
    let brokenCalls = 0;
    const healthy: number[] = [];
    const [broken, fine] = await Promise.all([
      batcher.submit(request('broken', 4), {
        onToken: () => {
          brokenCalls++;
          throw new Error('socket gone');
        },
      }),
      batcher.submit(request('fine', 5), { onToken: (_, event) => healthy.push(event.tokenId) }),
    ]);
    expect(brokenCalls).toBe(1);
    expect(broken.sequences[0]!.tokenIds.length).toBeGreaterThan(1);
    expect(healthy).toEqual(Array.from(fine.sequences[0]!.tokenIds));
  });

  it('drops a queued request whose caller went away before its batch started', async () => {
    const gated = new GatedPolicy(served.policy);
    const batcher = new GenerationBatcher(gated, { maxBatch: 1, maxQueue: 8, gatherWindowMs: 0 });
    const running = batcher.submit(request('running', 6), { onToken: () => {} });
    // The first batch is running (maxBatch 1), so this one waits in the queue while its caller leaves.
    const leaving = new AbortController();
    const queued = batcher.submit(request('queued', 7), { signal: leaving.signal });
    leaving.abort();
    await expect(queued).rejects.toSatisfy((error: unknown) => AbortedError.isInstance(error));
    expect((await running).sequences[0]!.finishReason).not.toBe('abort');
    expect(gated.calls).toBe(1);
    expect(batcher.statistics().batches).toBe(1);
  });
});
