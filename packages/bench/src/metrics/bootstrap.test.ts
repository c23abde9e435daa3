import { createRandom } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { bootstrapConfidenceInterval } from './bootstrap.js';

describe('bootstrapConfidenceInterval', () => {
  it('is deterministic for a seed, contains the estimate, and narrows with more data', () => {
    const values = Array.from({ length: 50 }, (_, index) => (index % 3 === 0 ? 1 : 0));
    const first = bootstrapConfidenceInterval({ values, seed: 4 });
    const second = bootstrapConfidenceInterval({ values, seed: 4 });
    expect(first).toEqual(second);
    // Discrete data can land on the same order statistics; continuous data shows the seed matters.
    const continuous = values.map((value, index) => value + index / 1000);
    expect(bootstrapConfidenceInterval({ values: continuous, seed: 5 }).lower).not.toBe(
      bootstrapConfidenceInterval({ values: continuous, seed: 4 }).lower,
    );
    expect(first.estimate).toBeCloseTo(17 / 50, 12);
    expect(first.lower).toBeLessThan(first.estimate);
    expect(first.upper).toBeGreaterThan(first.estimate);
    const more = bootstrapConfidenceInterval({
      values: [...values, ...values, ...values, ...values],
      seed: 4,
    });
    expect(more.upper - more.lower).toBeLessThan(first.upper - first.lower);
  });

  it('accepts a custom statistic', () => {
    const values = [1, 2, 3, 4, 100];
    const median = (sample: Float64Array) =>
      Float64Array.from(sample).sort()[Math.floor(sample.length / 2)] as number;
    const interval = bootstrapConfidenceInterval({ values, statistic: median, seed: 1, resamples: 500 });
    expect(interval.estimate).toBe(3);
    expect(interval.upper).toBeLessThanOrEqual(100);
    expect(interval.lower).toBeGreaterThanOrEqual(1);
  });

  it('rejects bad input with typed errors', () => {
    expect(() => bootstrapConfidenceInterval({ values: [] })).toThrow(/values/);
    expect(() => bootstrapConfidenceInterval({ values: [1, Number.NaN] })).toThrow(/values\[1\]/);
    expect(() => bootstrapConfidenceInterval({ values: [1], confidence: 1 })).toThrow(/confidence/);
  });

  it('covers the true mean at close to the nominal rate (simulation)', () => {
    // 300 simulated benchmarks of 100 Bernoulli(0.3) items; a 95% interval should contain 0.3 about 95% of the
    // time. With 300 trials the standard error of the coverage is about 1.3 points, so [0.90, 0.99] is ~4 sigma.
    const random = createRandom({ seed: 2024 });
    const trials = 300;
    let covered = 0;
    for (let trial = 0; trial < trials; trial++) {
      const values = Array.from({ length: 100 }, () => (random.next() < 0.3 ? 1 : 0));
      const interval = bootstrapConfidenceInterval({ values, seed: trial, resamples: 1000 });
      if (interval.lower <= 0.3 && 0.3 <= interval.upper) covered += 1;
    }
    const coverage = covered / trials;
    expect(coverage).toBeGreaterThan(0.9);
    expect(coverage).toBeLessThan(0.99);
  });
});
