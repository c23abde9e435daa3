import { InvalidArgumentError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { groupStatistics, normalizeGroupScores } from './group-statistics.js';

describe('groupStatistics', () => {
  it('uses the unbiased standard deviation by default, as torch.std', () => {
    const statistics = groupStatistics([1, 0, 1, 1]);
    expect(statistics.mean).toBe(0.75);
    expect(statistics.standardDeviation).toBeCloseTo(0.5, 12);
  });

  it('uses the population standard deviation on request, as np.std', () => {
    expect(groupStatistics([1, 0, 1, 1], { standardDeviation: 'population' }).standardDeviation).toBeCloseTo(
      Math.sqrt(0.1875),
      12,
    );
  });

  it('gives a singleton group mean 0 and standard deviation 1, as verl', () => {
    expect(groupStatistics([7])).toEqual({ count: 1, mean: 0, standardDeviation: 1 });
    expect(groupStatistics([7], { standardDeviation: 'population' })).toEqual({
      count: 1,
      mean: 0,
      standardDeviation: 1,
    });
  });

  it('rejects empty groups and non-finite scores with typed errors naming the position', () => {
    expect(() => groupStatistics([])).toThrow(/group is empty/);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      let thrown: unknown;
      try {
        groupStatistics([1, bad]);
      } catch (error) {
        thrown = error;
      }
      expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
      expect((thrown as InvalidArgumentError).argument).toBe('scores[1]');
    }
  });
});

describe('normalizeGroupScores', () => {
  it('adds epsilon to the standard deviation and can skip the scaling', () => {
    expect(normalizeGroupScores([1, 0], { epsilon: 0.5 })[0]).toBeCloseTo(0.5 / (Math.SQRT1_2 + 0.5), 12);
    expect(Array.from(normalizeGroupScores([1, 0, 1, 1], { scaleByStandardDeviation: false }))).toEqual([
      0.25, -0.75, 0.25, 0.25,
    ]);
  });
});
