import { InvalidArgumentError } from '@arpo/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxDifference } from '../../test/support/groups.js';
import { computePpoPolicyLoss, importanceRatio, ppoTokenLoss } from './policy-loss.js';

const ratios = [0.5, 0.9, 1.0, 1.2, 1.5, 4.0];
const dapoClip = { clipLow: 0.2, clipHigh: 0.28, dualClip: 3 };

describe('ppoTokenLoss (acceptance values)', () => {
  it('A = +1 → [-0.5, -0.9, -1.0, -1.2, -1.28, -1.28]', () => {
    const losses = ratios.map((ratio) => ppoTokenLoss(ratio, 1, dapoClip));
    expect(maxDifference(losses, [-0.5, -0.9, -1.0, -1.2, -1.28, -1.28])).toBeLessThan(1e-6);
  });

  it('A = -1 → [0.8, 0.9, 1.0, 1.2, 1.5, 3.0] (dual clip caps the last)', () => {
    const losses = ratios.map((ratio) => ppoTokenLoss(ratio, -1, dapoClip));
    expect(maxDifference(losses, [0.8, 0.9, 1.0, 1.2, 1.5, 3.0])).toBeLessThan(1e-6);
    expect(ppoTokenLoss(4, -1, { clipLow: 0.2, clipHigh: 0.28 })).toBe(4);
  });

  it('defaults to a symmetric 0.2 clip', () => {
    expect(ppoTokenLoss(1.5, 1)).toBeCloseTo(-1.2, 12);
    expect(ppoTokenLoss(0.5, -1)).toBeCloseTo(0.8, 12);
  });
});

describe('computePpoPolicyLoss', () => {
  it('matches the per-token formula and reports verl clip fractions and approximate KL', () => {
    const logprobs = [ratios.map((ratio) => Math.log(ratio)), ratios.map((ratio) => Math.log(ratio))];
    const oldLogprobs = [new Array(6).fill(0), new Array(6).fill(0)];
    const result = computePpoPolicyLoss(
      {
        logprobs,
        oldLogprobs,
        advantages: [new Array(6).fill(1), new Array(6).fill(-1)],
        masks: [
          [1, 1, 1, 1, 1, 1],
          [1, 1, 1, 1, 1, 0],
        ],
      },
      dapoClip,
    );
    expect(maxDifference(result.tokenLosses[0]!, [-0.5, -0.9, -1.0, -1.2, -1.28, -1.28])).toBeLessThan(1e-9);
    expect(maxDifference(result.tokenLosses[1]!, [0.8, 0.9, 1.0, 1.2, 1.5, 0])).toBeLessThan(1e-9);
    const expectedLoss = (-0.5 - 0.9 - 1 - 1.2 - 1.28 - 1.28 + 0.8 + 0.9 + 1 + 1.2 + 1.5) / 11;
    expect(result.loss).toBeCloseTo(expectedLoss, 9);
    // Clipped: A=+1 at ratios 1.5 and 4.0; A=-1 at ratio 0.5 (ratio 4.0 is masked there).
    expect(result.clipFraction).toBeCloseTo(3 / 11, 12);
    expect(result.clipFractionLower).toBe(0);
    const meanNegativeLog = -(2 * ratios.reduce((sum, r) => sum + Math.log(r), 0) - Math.log(4)) / 11;
    expect(result.approxKl).toBeCloseTo(meanNegativeLog, 12);
  });

  it('counts dual-clipped tokens in clipFractionLower', () => {
    const result = computePpoPolicyLoss(
      { logprobs: [[Math.log(4)]], oldLogprobs: [[0]], advantages: [[-1]], masks: [[1]] },
      dapoClip,
    );
    expect(result.loss).toBeCloseTo(3, 12);
    expect(result.clipFractionLower).toBe(1);
  });

  it('clamps the log-ratio to ±20', () => {
    expect(importanceRatio(1000, 0)).toBeCloseTo(Math.exp(20), 0);
    expect(importanceRatio(-1000, 0)).toBeCloseTo(Math.exp(-20), 20);
    const result = computePpoPolicyLoss(
      { logprobs: [[1000]], oldLogprobs: [[0]], advantages: [[-1]], masks: [[1]] },
      { clipLow: 0.2, clipHigh: 0.2 },
    );
    expect(result.loss).toBeCloseTo(Math.exp(20), 0);
    expect(result.approxKl).toBe(-20);
  });

  it('never rewards a ratio beyond the clip for positive advantages (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.double({ min: 0.01, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        (ratio, advantage, clipLow, clipHigh) => {
          const loss = ppoTokenLoss(ratio, advantage, { clipLow, clipHigh });
          expect(loss).toBeGreaterThanOrEqual(-advantage * (1 + clipHigh) - 1e-12);
          expect(loss).toBeGreaterThanOrEqual(-advantage * ratio - 1e-12);
        },
      ),
    );
  });

  it('rejects mismatched shapes and bad clip settings', () => {
    const input = { logprobs: [[0, 0]], oldLogprobs: [[0]], advantages: [[1, 1]], masks: [[1, 1]] };
    let thrown: unknown;
    try {
      computePpoPolicyLoss(input);
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect((thrown as InvalidArgumentError).argument).toBe('oldLogprobs[0]');
    const ok = { ...input, oldLogprobs: [[0, 0]] };
    expect(() => computePpoPolicyLoss(ok, { dualClip: 1 })).toThrow(/dualClip/);
    expect(() => computePpoPolicyLoss(ok, { clipLow: 1.5 })).toThrow(/clipLow/);
    expect(() => computePpoPolicyLoss({ ...ok, masks: [] })).toThrow(/masks/);
  });
});
