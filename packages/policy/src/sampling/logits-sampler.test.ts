import { createRandom, InvalidArgumentError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { LogitsSampler, type RowSamplingSettings } from './logits-sampler.js';
import { selectTopIndices } from './top-selection.js';

const greedy: RowSamplingSettings = { temperature: 0, topK: 0, topP: 1, topLogprobs: 0 };
const plain: RowSamplingSettings = { temperature: 1, topK: 0, topP: 1, topLogprobs: 0 };

function randomLogits(rows: number, vocabularySize: number, seed: number, scale = 3): Float32Array {
  const random = createRandom({ seed });
  return Float32Array.from({ length: rows * vocabularySize }, () => random.normal() * scale);
}

/** Reference in float64, written the naive way: p = softmax(z / T), H = −Σ p log p. */
function reference(logits: Float32Array, offset: number, vocabularySize: number, temperature: number) {
  const scaled = Array.from(logits.subarray(offset, offset + vocabularySize), (value) => value / temperature);
  const maximum = Math.max(...scaled);
  const normaliser = Math.log(scaled.reduce((sum, value) => sum + Math.exp(value - maximum), 0)) + maximum;
  const logprobs = scaled.map((value) => value - normaliser);
  const entropy = -logprobs.reduce((sum, logprob) => sum + Math.exp(logprob) * logprob, 0);
  return { logprobs, entropy };
}

describe('LogitsSampler', () => {
  it('reports the exact entropy and the log-softmax at the sampled id, for several temperatures', () => {
    const vocabularySize = 1000;
    const logits = randomLogits(8, vocabularySize, 1);
    const sampler = new LogitsSampler({ vocabularySize });
    const random = createRandom({ seed: 2 });
    for (const temperature of [0.3, 0.7, 1, 1.8]) {
      for (let row = 0; row < 8; row++) {
        const offset = row * vocabularySize;
        const sampled = sampler.sample(logits, offset, { ...plain, temperature }, random);
        const expected = reference(logits, offset, vocabularySize, temperature);
        expect(sampled.entropy).toBeCloseTo(expected.entropy, 9);
        expect(sampled.logprob).toBeCloseTo(expected.logprobs[sampled.tokenId] as number, 9);
      }
    }
  });

  it('keeps statistics of the untruncated distribution under top-k / top-p (the contract)', () => {
    const vocabularySize = 300;
    const logits = randomLogits(1, vocabularySize, 3);
    const sampler = new LogitsSampler({ vocabularySize });
    const expected = reference(logits, 0, vocabularySize, 0.8);
    const sampled = sampler.sample(
      logits,
      0,
      { ...plain, temperature: 0.8, topK: 5, topP: 0.5 },
      createRandom({ seed: 1 }),
    );
    expect(sampled.entropy).toBeCloseTo(expected.entropy, 9);
    expect(sampled.logprob).toBeCloseTo(expected.logprobs[sampled.tokenId] as number, 9);
  });

  it('is stable for huge logits and ignores -Infinity (masked) entries', () => {
    const logits = Float32Array.of(1e30, 1e30 - 1e24, Number.NEGATIVE_INFINITY, -1e30);
    const sampler = new LogitsSampler({ vocabularySize: 4 });
    const sampled = sampler.sample(logits, 0, plain, createRandom({ seed: 1 }));
    expect(Number.isFinite(sampled.entropy)).toBe(true);
    expect(Number.isFinite(sampled.logprob)).toBe(true);
    expect([0, 1]).toContain(sampled.tokenId);
    const masked = Float32Array.of(0, Number.NEGATIVE_INFINITY, 0, Number.NEGATIVE_INFINITY);
    const half = new LogitsSampler({ vocabularySize: 4 }).sample(masked, 0, plain, createRandom({ seed: 5 }));
    expect(half.entropy).toBeCloseTo(Math.log(2), 12);
    expect(half.logprob).toBeCloseTo(-Math.log(2), 12);
    expect([0, 2]).toContain(half.tokenId);
  });

  it('throws a typed error for a row without finite logits', () => {
    const sampler = new LogitsSampler({ vocabularySize: 3 });
    expect(() =>
      sampler.sample(new Float32Array(3).fill(Number.NaN), 0, plain, createRandom({ seed: 1 })),
    ).toThrow(InvalidArgumentError);
  });

  it('greedy picks the argmax (first on ties) with statistics of the untempered distribution', () => {
    const vocabularySize = 500;
    const logits = randomLogits(4, vocabularySize, 9);
    const sampler = new LogitsSampler({ vocabularySize });
    for (let row = 0; row < 4; row++) {
      const offset = row * vocabularySize;
      const values = Array.from(logits.subarray(offset, offset + vocabularySize));
      const sampled = sampler.sample(logits, offset, greedy, undefined);
      expect(sampled.tokenId).toBe(values.indexOf(Math.max(...values)));
      expect(sampled.entropy).toBeCloseTo(reference(logits, offset, vocabularySize, 1).entropy, 9);
    }
    expect(sampler.sample(Float32Array.of(1, 5, 5), 0, greedy, undefined).tokenId).toBe(1);
  });

  it('top-k and top-p restrict the support to the k most likely / the nucleus', () => {
    const vocabularySize = 200;
    const logits = randomLogits(1, vocabularySize, 4, 2);
    const sampler = new LogitsSampler({ vocabularySize });
    const order = Array.from({ length: vocabularySize }, (_, index) => index).sort(
      (left, right) => (logits[right] as number) - (logits[left] as number),
    );
    const random = createRandom({ seed: 11 });
    const topFive = new Set(order.slice(0, 5));
    const probabilities = reference(logits, 0, vocabularySize, 1).logprobs.map(Math.exp);
    let cumulative = 0;
    const nucleus = new Set<number>();
    for (const id of order) {
      nucleus.add(id);
      cumulative += probabilities[id] as number;
      if (cumulative >= 0.6) break;
    }
    const seenTopK = new Set<number>();
    const seenTopP = new Set<number>();
    for (let draw = 0; draw < 3000; draw++) {
      seenTopK.add(sampler.sample(logits, 0, { ...plain, topK: 5 }, random).tokenId);
      seenTopP.add(sampler.sample(logits, 0, { ...plain, topP: 0.6 }, random).tokenId);
    }
    expect([...seenTopK].every((id) => topFive.has(id))).toBe(true);
    expect(seenTopK.size).toBe(5);
    expect([...seenTopP].every((id) => nucleus.has(id))).toBe(true);
    expect(seenTopP.size).toBe(nucleus.size);
  });

  it('widens the nucleus search beyond the first candidates on flat distributions', () => {
    const vocabularySize = 1000;
    const logits = new Float32Array(vocabularySize); // uniform: the 0.9 nucleus holds 900 tokens
    const sampler = new LogitsSampler({ vocabularySize });
    const random = createRandom({ seed: 3 });
    const seen = new Set<number>();
    for (let draw = 0; draw < 2500; draw++)
      seen.add(sampler.sample(logits, 0, { ...plain, topP: 0.9 }, random).tokenId);
    expect(Math.max(...seen)).toBeLessThan(900);
    expect(seen.size).toBeGreaterThan(700);
  });

  it('samples with the right frequencies', () => {
    const logits = Float32Array.from([0, 1, 2, 3].map((value) => Math.log(value + 1)));
    const sampler = new LogitsSampler({ vocabularySize: 4 });
    const random = createRandom({ seed: 21 });
    const counts = [0, 0, 0, 0];
    const draws = 20_000;
    for (let draw = 0; draw < draws; draw++)
      (counts[sampler.sample(logits, 0, plain, random).tokenId] as number)++;
    counts.forEach((count, id) => {
      expect(count / draws).toBeCloseTo((id + 1) / 10, 1);
    });
  });

  it('gives the same tokens for the same seed and different tokens for another', () => {
    const vocabularySize = 100;
    const logits = randomLogits(1, vocabularySize, 5, 0.5);
    const sampler = new LogitsSampler({ vocabularySize });
    const draw = (seed: number) => {
      const random = createRandom({ seed });
      return Array.from(
        { length: 40 },
        () => sampler.sample(logits, 0, { ...plain, topP: 0.95, topK: 50 }, random).tokenId,
      );
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('returns top logprobs in descending order under the same distribution', () => {
    const vocabularySize = 400;
    const logits = randomLogits(1, vocabularySize, 6);
    const sampler = new LogitsSampler({ vocabularySize });
    const sampled = sampler.sample(
      logits,
      0,
      { ...plain, temperature: 0.5, topLogprobs: 5 },
      createRandom({ seed: 1 }),
    );
    const expected = reference(logits, 0, vocabularySize, 0.5).logprobs;
    const order = Array.from({ length: vocabularySize }, (_, index) => index).sort(
      (left, right) => (expected[right] as number) - (expected[left] as number),
    );
    expect(Array.from(sampled.top?.tokenIds ?? [])).toEqual(order.slice(0, 5));
    sampled.top?.logprobs.forEach((logprob, rank) => {
      expect(logprob).toBeCloseTo(expected[order[rank] as number] as number, 5);
    });
  });
});

describe('selectTopIndices', () => {
  it('matches a full sort (ties by lower index)', () => {
    const random = createRandom({ seed: 4 });
    const values = Float32Array.from({ length: 5000 }, () => Math.round(random.normal() * 10));
    const output = new Int32Array(37);
    expect(selectTopIndices(values, 0, values.length, 37, output)).toBe(37);
    const expected = Array.from({ length: values.length }, (_, index) => index)
      .sort((left, right) => (values[right] as number) - (values[left] as number) || left - right)
      .slice(0, 37);
    expect(Array.from(output)).toEqual(expected);
  });
});
