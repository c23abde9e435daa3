import { InvalidArgumentError, type KlEstimator } from '@arpo/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxDifference } from '../../test/support/groups.js';
import { klEstimatorFromVerlName, klPenalties, klPenalty, klPenaltyGradient } from './kl-penalty.js';

const logprobs = [-1, -2, -0.5];
const references = [-1.2, -1, -0.5];

describe('klPenalty (acceptance values)', () => {
  it('k1 → [0.2, -1, 0]', () => {
    expect(maxDifference(klPenalties(logprobs, references, 'k1'), [0.2, -1, 0])).toBeLessThan(1e-6);
  });
  it('k2 → [0.02, 0.5, 0]', () => {
    expect(maxDifference(klPenalties(logprobs, references, 'k2'), [0.02, 0.5, 0])).toBeLessThan(1e-6);
  });
  it('k3 → [0.01873075, 0.71828183, 0]', () => {
    expect(maxDifference(klPenalties(logprobs, references, 'k3'), [0.01873075, 0.71828183, 0])).toBeLessThan(
      1e-6,
    );
  });
  it('abs → [0.2, 1, 0]', () => {
    expect(maxDifference(klPenalties(logprobs, references, 'abs'), [0.2, 1, 0])).toBeLessThan(1e-6);
  });
  it('straight-through variants have the value of their base estimator', () => {
    for (const [plus, base] of [
      ['k1+', 'k1'],
      ['k2+', 'k2'],
      ['k3+', 'k3'],
    ] as [KlEstimator, KlEstimator][]) {
      expect(Array.from(klPenalties(logprobs, references, plus))).toEqual(
        Array.from(klPenalties(logprobs, references, base)),
      );
    }
  });
});

describe('low_var_kl clamps', () => {
  it('clamps the log-ratio to ±20 and the value to ±10', () => {
    expect(klPenalty(0, 100, 'k3')).toBe(10);
    expect(klPenalty(100, 0, 'k3')).toBeCloseTo(Math.exp(-20) + 20 - 1 > 10 ? 10 : 0, 12);
    expect(klPenalty(-5, 0, 'k3')).toBe(10);
    expect(klPenalty(3, 0, 'k3')).toBeCloseTo(Math.exp(-3) + 3 - 1, 12);
  });
});

describe('klPenaltyGradient', () => {
  it('matches a finite difference of the value for k1, abs, k2, k3 (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -4, max: 4, noNaN: true }),
        fc.double({ min: -4, max: 4, noNaN: true }),
        fc.constantFrom<KlEstimator>('k1', 'abs', 'k2', 'k3'),
        (logprob, reference, estimator) => {
          fc.pre(Math.abs(logprob - reference) > 1e-3);
          const step = 1e-6;
          const numeric =
            (klPenalty(logprob + step, reference, estimator) -
              klPenalty(logprob - step, reference, estimator)) /
            (2 * step);
          expect(Math.abs(numeric - klPenaltyGradient(logprob, reference, estimator))).toBeLessThan(1e-4);
        },
      ),
    );
  });

  it('gives every + variant the gradient of k2', () => {
    for (const estimator of ['k1+', 'k2+', 'k3+'] as KlEstimator[]) {
      expect(klPenaltyGradient(-1, -1.5, estimator)).toBeCloseTo(0.5, 12);
    }
    expect(klPenaltyGradient(0, 100, 'k3')).toBe(0);
  });
});

describe('KL input checks', () => {
  it('maps verl names and rejects unknown estimators and mismatched rows', () => {
    expect(klEstimatorFromVerlName('low_var_kl')).toBe('k3');
    expect(klEstimatorFromVerlName('mse')).toBe('k2');
    expect(klEstimatorFromVerlName('kl')).toBe('k1');
    let thrown: unknown;
    try {
      klEstimatorFromVerlName('full');
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect(() => klPenalties([0], [0], 'k4' as KlEstimator)).toThrow(/unknown KL estimator 'k4'/);
    expect(() => klPenalty(0, 0, 'k4' as KlEstimator)).toThrow(InvalidArgumentError);
    expect(() => klPenalties([0, 1], [0], 'k1')).toThrow(/referenceLogprobs/);
  });
});
