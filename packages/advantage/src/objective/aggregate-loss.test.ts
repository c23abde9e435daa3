import { InvalidArgumentError, type LossAggregation } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { aggregateLoss } from './aggregate-loss.js';

const losses = [
  [1, 2, 3],
  [4, 5, 6],
];
const masks = [
  [1, 1, 0],
  [1, 0, 0],
];

describe('aggregateLoss (acceptance values)', () => {
  const expected: [LossAggregation, number][] = [
    ['token-mean', 2.333333],
    ['seq-mean-token-sum', 3.5],
    ['seq-mean-token-mean', 2.75],
    ['token-sum', 7.0],
    ['seq-mean-token-sum-norm', 1.166667],
  ];
  for (const [mode, value] of expected) {
    it(`${mode} → ${value}`, () => {
      expect(Math.abs(aggregateLoss(losses, masks, mode) - value)).toBeLessThan(1e-6);
    });
  }

  it("seq-mean-token-sum-norm with sequenceReduction 'sum' is verl's agg_loss: 7 / 3 = 2.333333", () => {
    // verl: seq_losses = [3, 4]; torch.sum(seq_losses) / loss_mask.shape[-1] = 7 / 3.
    const verl = aggregateLoss(losses, masks, 'seq-mean-token-sum-norm', { sequenceReduction: 'sum' });
    expect(Math.abs(verl - 2.333333)).toBeLessThan(1e-6);
    expect(aggregateLoss(losses, masks, 'seq-mean-token-sum-norm', { sequenceReduction: 'mean' })).toBe(
      aggregateLoss(losses, masks, 'seq-mean-token-sum-norm'),
    );
    expect(
      aggregateLoss(losses, masks, 'seq-mean-token-sum-norm', { sequenceReduction: 'sum', horizon: 7 }),
    ).toBe(1);
    expect(() => aggregateLoss(losses, masks, 'token-mean', { sequenceReduction: 'sum' })).toThrow(
      /sequenceReduction.*applies only to seq-mean-token-sum-norm, not token-mean/,
    );
    expect(() =>
      aggregateLoss(losses, masks, 'seq-mean-token-sum-norm', { sequenceReduction: 'total' as never }),
    ).toThrow(InvalidArgumentError);
  });

  it('uses an explicit horizon for seq-mean-token-sum-norm', () => {
    expect(aggregateLoss(losses, masks, 'seq-mean-token-sum-norm', { horizon: 7 })).toBeCloseTo(0.5, 12);
  });

  it('ignores masked positions even when they hold NaN or Infinity, and handles empty batches', () => {
    expect(aggregateLoss([[1, Number.NaN, Number.POSITIVE_INFINITY]], [[1, 0, 0]], 'token-mean')).toBe(1);
    expect(aggregateLoss([[1, 2]], [[0, 0]], 'token-mean')).toBe(0);
    expect(aggregateLoss([[1, 2], [3]], [[0, 0], [1]], 'seq-mean-token-mean')).toBe(3);
    expect(aggregateLoss([], [], 'seq-mean-token-sum')).toBe(0);
  });

  it('rejects unknown modes, mismatched shapes and bad horizons', () => {
    let thrown: unknown;
    try {
      aggregateLoss(losses, masks, 'mean' as LossAggregation);
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect(String(thrown)).toMatch(/unknown loss aggregation 'mean'/);
    expect(() => aggregateLoss(losses, [[1, 1, 0]], 'token-mean')).toThrow(/masks/);
    expect(() =>
      aggregateLoss(
        losses,
        [
          [1, 1],
          [1, 0, 0],
        ],
        'token-mean',
      ),
    ).toThrow(/masks\[0\]/);
    expect(() => aggregateLoss(losses, masks, 'seq-mean-token-sum-norm', { horizon: 0 })).toThrow(/horizon/);
  });
});
