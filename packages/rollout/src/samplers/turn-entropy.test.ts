import type { GeneratedSequence } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { meanTurnEntropy, referenceTurnEntropy } from './turn-entropy.js';

function sequence(options: { entropies: number[]; topLogprobs?: number[][] }): GeneratedSequence {
  const length = options.entropies.length;
  const result: GeneratedSequence = {
    tokenIds: Int32Array.from({ length }, (_, index) => index + 3),
    logprobs: new Float32Array(length).fill(-0.5),
    entropies: Float32Array.from(options.entropies),
    finishReason: 'eos',
    text: '',
  };
  if (options.topLogprobs !== undefined) {
    result.topLogprobs = options.topLogprobs.map((logprobs) => ({
      tokenIds: Int32Array.from(logprobs, (_, rank) => rank),
      logprobs: Float32Array.from(logprobs),
    }));
  }
  return result;
}

/** −Σ p log p over a list of logprobs, p = exp(logprob), no renormalisation. */
const truncatedEntropy = (logprobs: readonly number[]) =>
  logprobs.reduce((sum, logprob) => sum - Math.exp(Math.fround(logprob)) * Math.fround(logprob), 0);

describe('referenceTurnEntropy', () => {
  it('sums the top-k truncated entropy over the first k positions and divides by ln|V|', () => {
    const top = [
      [-0.1, -2.5, -3],
      [-0.7, -0.7],
      [-0.01, -5],
    ];
    const value = referenceTurnEntropy(sequence({ entropies: [9, 9, 9], topLogprobs: top }), {
      vocabularySize: 100,
      k: 20,
      topK: 10,
    });
    const expected =
      (truncatedEntropy(top[0]!) + truncatedEntropy(top[1]!) + truncatedEntropy(top[2]!)) / Math.log(100);
    expect(value).toBeCloseTo(expected, 6);
    // The per-token entropies (9 nats each) play no part when top logprobs are there.
    expect(value).toBeLessThan(1);
  });

  it('counts only the first k positions and the first topK alternatives at each', () => {
    const twelve = Array.from({ length: 12 }, (_, rank) => -1 - rank * 0.2);
    const top = Array.from({ length: 30 }, (_, position) =>
      twelve.map((logprob) => logprob - position * 0.01),
    );
    const value = referenceTurnEntropy(sequence({ entropies: new Array(30).fill(0), topLogprobs: top }), {
      vocabularySize: 259,
      k: 20,
      topK: 10,
    });
    let expected = 0;
    for (let position = 0; position < 20; position++)
      expected += truncatedEntropy(top[position]!.slice(0, 10));
    expect(value).toBeCloseTo(expected / Math.log(259), 6);
    let allTwelve = 0;
    for (let position = 0; position < 20; position++) allTwelve += truncatedEntropy(top[position]!);
    expect(value).not.toBeCloseTo(allTwelve / Math.log(259), 3);
  });

  it('falls back to the reported per-token entropy at positions without top logprobs', () => {
    const value = referenceTurnEntropy(
      sequence({ entropies: [0.4, 0.8, 1.2], topLogprobs: [[-0.5, -1], [-0.2]] }),
      { vocabularySize: 50, k: 20, topK: 10 },
    );
    const expected =
      (truncatedEntropy([-0.5, -1]) + truncatedEntropy([-0.2]) + Math.fround(1.2)) / Math.log(50);
    expect(value).toBeCloseTo(expected, 6);
    const none = referenceTurnEntropy(sequence({ entropies: [0.4, 0.8, 1.2] }), {
      vocabularySize: 50,
      k: 2,
      topK: 10,
    });
    expect(none).toBeCloseTo((Math.fround(0.4) + Math.fround(0.8)) / Math.log(50), 6);
  });

  it('is 0 for an empty turn', () => {
    expect(referenceTurnEntropy(sequence({ entropies: [] }), { vocabularySize: 10, k: 20, topK: 10 })).toBe(
      0,
    );
  });
});

describe('meanTurnEntropy', () => {
  it('averages the per-token entropies over the first k tokens', () => {
    expect(meanTurnEntropy(sequence({ entropies: [0.25, 0.75, 2, 100] }), { k: 3 })).toBeCloseTo(1, 6);
    expect(meanTurnEntropy(sequence({ entropies: [0.5, 1.5] }), { k: 20 })).toBeCloseTo(1, 6);
  });

  it('ignores top logprobs and is 0 for an empty turn', () => {
    expect(
      meanTurnEntropy(sequence({ entropies: [0.5], topLogprobs: [[-0.01, -9]] }), { k: 20 }),
    ).toBeCloseTo(0.5, 6);
    expect(meanTurnEntropy(sequence({ entropies: [] }), { k: 20 })).toBe(0);
  });
});
