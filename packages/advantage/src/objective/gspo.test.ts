import { describe, expect, it } from 'vitest';
import { computeGspoPolicyLoss, gspoSequenceLogRatio, gspoSequenceRatio } from './gspo.js';

describe('GSPO', () => {
  it('uses the masked mean log-ratio of the sequence as its ratio', () => {
    const logprobs = [-1, -2, -3, -9];
    const old = [-1.5, -2.5, -2.0, 0];
    const mask = [1, 1, 1, 0];
    // (0.5 + 0.5 - 1) / 3 = 0
    expect(gspoSequenceLogRatio(logprobs, old, mask)).toBeCloseTo(0, 12);
    expect(gspoSequenceRatio([-1, -1], [-1.3, -1.1], [1, 1])).toBeCloseTo(Math.exp(0.2), 12);
    expect(gspoSequenceLogRatio([0], [0], [0])).toBe(0);
  });

  it('clamps the log sequence ratio at 10 from above only', () => {
    expect(gspoSequenceRatio([50], [0], [1])).toBeCloseTo(Math.exp(10), 6);
    expect(gspoSequenceRatio([-50], [0], [1])).toBeCloseTo(Math.exp(-50), 30);
  });

  it('clips the sequence ratio and aggregates seq-mean-token-mean', () => {
    const result = computeGspoPolicyLoss(
      {
        // Sequence 0: ratio e^0.5 ≈ 1.6487 clipped to 1.28 for A = +1; sequence 1: ratio 1, A = -2 on one token.
        logprobs: [
          [0.5, 0.5],
          [0, 0, 0],
        ],
        oldLogprobs: [
          [0, 0],
          [0, 0, 0],
        ],
        advantages: [
          [1, 1],
          [-2, -2, -2],
        ],
        masks: [
          [1, 1],
          [1, 0, 0],
        ],
      },
      { clipLow: 0.2, clipHigh: 0.28 },
    );
    expect(result.sequenceRatios[0]).toBeCloseTo(Math.exp(0.5), 12);
    expect(Array.from(result.tokenLosses[0]!)).toEqual([-1.28, -1.28]);
    expect(result.loss).toBeCloseTo((-1.28 + 2) / 2, 12);
    expect(result.clipFraction).toBeCloseTo(2 / 3, 12);
    expect(result.approxKl).toBeCloseTo(-1 / 3, 12);
  });
});
