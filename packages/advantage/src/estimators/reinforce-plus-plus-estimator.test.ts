import { InvalidArgumentError } from '@arpo/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeGroup, maxDifference } from '../../test/support/groups.js';
import {
  discountedReturns,
  reinforcePlusPlusBaselineEstimator,
  reinforcePlusPlusEstimator,
} from './reinforce-plus-plus-estimator.js';

describe('reinforce_plus_plus', () => {
  it('whitens the returns over every policy token of the batch (worked example)', () => {
    // Tokens 1, 1, 1, 0, 0: mean 0.6, unbiased variance 0.3.
    const output = reinforcePlusPlusEstimator.estimate([makeGroup('a', [1], [3]), makeGroup('b', [0], [2])]);
    const high = 0.7302967311686093;
    const low = -1.095445096752914;
    expect(maxDifference(output[0]!.advantages[0]!, [high, high, high])).toBeLessThan(1e-6);
    expect(maxDifference(output[1]!.advantages[0]!, [low, low])).toBeLessThan(1e-6);
    expect(Array.from(output[0]!.returns[0]!)).toEqual([1, 1, 1]);
  });

  it('discounts from the reward at the last policy token (gamma 0.5)', () => {
    const output = reinforcePlusPlusEstimator.estimate([makeGroup('a', [1], [3]), makeGroup('b', [0], [2])], {
      gamma: 0.5,
    });
    expect(Array.from(output[0]!.returns[0]!)).toEqual([0.25, 0.5, 1]);
    expect(
      maxDifference(
        output[0]!.advantages[0]!,
        [-0.2390457150370012, 0.35856857255550195, 1.5537971477405081],
      ),
    ).toBeLessThan(1e-6);
    expect(maxDifference(output[1]!.advantages[0]!, [-0.8366600026295044, -0.8366600026295044])).toBeLessThan(
      1e-6,
    );
  });

  it('skips tool tokens by default and reproduces verl’s reset on request', () => {
    const mask = Uint8Array.of(1, 1, 0, 0, 1, 0);
    expect(Array.from(discountedReturns(2, mask, { gamma: 0.5 }))).toEqual([0.5, 1, 0, 0, 2, 0]);
    // verl: `running *= mask` after every position, so tokens before a tool result get nothing.
    expect(Array.from(discountedReturns(2, mask, { gamma: 0.5, resetOnMaskedTokens: true }))).toEqual([
      0, 0, 0, 0, 2, 0,
    ]);
    expect(Array.from(discountedReturns(2, new Uint8Array(3)))).toEqual([0, 0, 0]);
  });

  it('gives whitened advantages with masked mean 0 and unbiased variance 1, zero at masked positions', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            score: fc.double({ min: -5, max: 5, noNaN: true }),
            mask: fc.uint8Array({ min: 0, max: 1, minLength: 1, maxLength: 8 }),
          }),
          { minLength: 2, maxLength: 10 },
        ),
        (trajectories) => {
          const tokens = trajectories.reduce((sum, { mask }) => sum + mask.reduce((a, b) => a + b, 0), 0);
          fc.pre(tokens >= 2);
          const group = {
            id: 'g',
            scores: trajectories.map((t) => t.score),
            lossMasks: trajectories.map((t) => t.mask),
          };
          const [output] = reinforcePlusPlusEstimator.estimate([group]);
          const values: number[] = [];
          const returns: number[] = [];
          output!.advantages.forEach((row, index) => {
            row.forEach((value, position) => {
              if (group.lossMasks[index]![position] === 1) {
                values.push(value);
                returns.push(output!.returns[index]![position]!);
              } else expect(value).toBe(0);
            });
          });
          const unbiasedVariance = (list: number[]) => {
            const mean = list.reduce((a, b) => a + b, 0) / list.length;
            return { mean, variance: list.reduce((a, b) => a + (b - mean) ** 2, 0) / (list.length - 1) };
          };
          const whitened = unbiasedVariance(values);
          const raw = unbiasedVariance(returns).variance;
          expect(Math.abs(whitened.mean)).toBeLessThan(1e-5);
          // verl divides by sqrt(var + 1e-8): unit variance unless the spread is near the epsilon.
          expect(Math.abs(whitened.variance - raw / (raw + 1e-8))).toBeLessThan(1e-3);
        },
      ),
    );
  });

  it('needs at least two policy tokens in the batch, as verl', () => {
    let thrown: unknown;
    try {
      reinforcePlusPlusEstimator.estimate([makeGroup('a', [1], [1])]);
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect(String(thrown)).toMatch(/at least 2 policy tokens/);
    expect(reinforcePlusPlusEstimator.estimate([])).toEqual([]);
    expect(() => reinforcePlusPlusEstimator.estimate([makeGroup('a', [1, 0])], { gamma: 2 })).toThrow(
      /gamma/,
    );
  });
});

describe('reinforce_plus_plus_baseline', () => {
  it('subtracts the group mean (singleton mean 0), broadcasts, then whitens over the batch', () => {
    const output = reinforcePlusPlusBaselineEstimator.estimate([
      makeGroup('a', [1, 0], [2, 2]),
      makeGroup('b', [2], [1]),
    ]);
    const [p, n, s] = [0.09759000683013896, -0.8783100614712509, 1.5614401092822239];
    expect(maxDifference(output[0]!.advantages[0]!, [p, p])).toBeLessThan(1e-6);
    expect(maxDifference(output[0]!.advantages[1]!, [n, n])).toBeLessThan(1e-6);
    expect(maxDifference(output[1]!.advantages[0]!, [s])).toBeLessThan(1e-6);
    expect(output[0]!.returns).toEqual(output[0]!.advantages);
  });

  it('is zero at masked positions and rejects NaN scores', () => {
    const group = { id: 'g', scores: [1, 0], lossMasks: [Uint8Array.of(1, 0, 1), Uint8Array.of(0, 1)] };
    const [output] = reinforcePlusPlusBaselineEstimator.estimate([group]);
    expect(output!.advantages[0]![1]).toBe(0);
    expect(output!.advantages[1]![0]).toBe(0);
    expect(() =>
      reinforcePlusPlusBaselineEstimator.estimate([{ ...group, scores: [Number.NaN, 0] }]),
    ).toThrow(/scores\[0\]/);
  });
});
