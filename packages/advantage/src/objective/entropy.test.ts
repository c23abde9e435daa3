import { InvalidArgumentError } from '@arpo/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entropiesFromLogits, entropyFromLogits } from './entropy.js';

describe('entropyFromLogits', () => {
  it('logits [1, 2, 3] → 0.8323956', () => {
    expect(Math.abs(entropyFromLogits([1, 2, 3]) - 0.8323956)).toBeLessThan(1e-6);
  });

  it('is stable for huge logits and treats -Infinity as probability 0', () => {
    expect(Math.abs(entropyFromLogits([1001, 1002, 1003]) - 0.8323956)).toBeLessThan(1e-6);
    expect(entropyFromLogits(Float32Array.of(-3e38, 3e38))).toBe(0);
    expect(entropyFromLogits([0, Number.NEGATIVE_INFINITY, 0])).toBeCloseTo(Math.LN2, 12);
  });

  it('is invariant to shifts and equals log(n) for uniform logits (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.double({ min: -100, max: 100, noNaN: true }),
        (logits, shift) => {
          const entropy = entropyFromLogits(logits);
          expect(entropy).toBeGreaterThanOrEqual(-1e-12);
          expect(entropy).toBeLessThanOrEqual(Math.log(logits.length) + 1e-9);
          expect(entropyFromLogits(logits.map((logit) => logit + shift))).toBeCloseTo(entropy, 6);
          expect(entropyFromLogits(logits.map(() => shift))).toBeCloseTo(Math.log(logits.length), 9);
        },
      ),
    );
  });

  it('computes one entropy per row of a logits matrix', () => {
    const rows = entropiesFromLogits(Float32Array.of(1, 2, 3, 0, 0, 0), 3);
    expect(rows[0]).toBeCloseTo(0.8323956, 6);
    expect(rows[1]).toBeCloseTo(Math.log(3), 6);
  });

  it('rejects empty rows, NaN logits and bad shapes', () => {
    let thrown: unknown;
    try {
      entropyFromLogits([1, Number.NaN]);
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect(() => entropyFromLogits([])).toThrow(/empty/);
    expect(() => entropyFromLogits([Number.NEGATIVE_INFINITY])).toThrow(/no finite logit/);
    expect(() => entropiesFromLogits(new Float32Array(5), 3)).toThrow(/not a multiple/);
    expect(() => entropiesFromLogits(new Float32Array(6), 0)).toThrow(/vocabularySize/);
  });
});
