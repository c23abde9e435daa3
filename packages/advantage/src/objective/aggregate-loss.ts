import { InvalidArgumentError, type LossAggregation } from '@arpo/core';
import { checkRows } from './check-rows.js';

export const lossAggregations: readonly LossAggregation[] = [
  'token-mean',
  'token-sum',
  'seq-mean-token-sum',
  'seq-mean-token-mean',
  'seq-mean-token-sum-norm',
];

export interface AggregateLossOptions {
  /**
   * Divisor of `seq-mean-token-sum-norm` (Dr.GRPO's MAX_TOKENS). Default: the longest row, which is verl's
   * padded width `loss_mask.shape[-1]`.
   */
  horizon?: number;
  /**
   * How `seq-mean-token-sum-norm` combines the rows' masked sums before dividing by `horizon`. `mean` (default,
   * Dr.GRPO and the issue's worked value) averages them; `sum` adds them, as verl's `agg_loss`
   * (`torch.sum(seq_losses) / loss_mask.shape[-1]`) does, giving a value `rows` times larger. Only valid with
   * that mode.
   */
  sequenceReduction?: 'mean' | 'sum';
}

/**
 * Reduces per-token losses to a scalar (verl `agg_loss`). `masks` are weights (usually 0/1).
 * - `token-mean`: sum(loss · mask) / sum(mask) over the batch (0 when no token counts).
 * - `token-sum`: sum(loss · mask).
 * - `seq-mean-token-sum`: mean over rows of each row's masked sum.
 * - `seq-mean-token-mean`: mean over rows with at least one token of each row's masked mean.
 * - `seq-mean-token-sum-norm`: mean over rows of each row's masked sum, divided by `horizon` (Dr.GRPO);
 *   `sequenceReduction: 'sum'` gives verl's `agg_loss` instead (the sum over rows, divided by `horizon`).
 */
export function aggregateLoss(
  losses: readonly ArrayLike<number>[],
  masks: readonly ArrayLike<number>[],
  mode: LossAggregation,
  options: AggregateLossOptions = {},
): number {
  checkRows({ name: 'losses', rows: losses }, [{ name: 'masks', rows: masks }]);
  if (!lossAggregations.includes(mode)) {
    throw new InvalidArgumentError({
      argument: 'mode',
      message: `unknown loss aggregation '${String(mode)}'; expected one of ${lossAggregations.join(', ')}`,
    });
  }
  const { sequenceReduction } = options;
  if (sequenceReduction !== undefined) {
    if (sequenceReduction !== 'mean' && sequenceReduction !== 'sum') {
      throw new InvalidArgumentError({
        argument: 'sequenceReduction',
        message: `must be 'mean' or 'sum', got ${JSON.stringify(sequenceReduction)}`,
      });
    }
    if (mode !== 'seq-mean-token-sum-norm') {
      throw new InvalidArgumentError({
        argument: 'sequenceReduction',
        message: `applies only to seq-mean-token-sum-norm, not ${mode}`,
      });
    }
  }
  const rows = losses.length;
  let total = 0;
  let totalWeight = 0;
  let rowMeanSum = 0;
  let rowsWithTokens = 0;
  let longest = 0;
  for (let row = 0; row < rows; row++) {
    const rowLosses = losses[row] as ArrayLike<number>;
    const rowMask = masks[row] as ArrayLike<number>;
    let sum = 0;
    let weight = 0;
    for (let position = 0; position < rowLosses.length; position++) {
      const mask = rowMask[position] as number;
      // Skip masked positions outright so a NaN/Infinity loss there cannot leak in (0 · Infinity = NaN).
      if (mask === 0) continue;
      sum += (rowLosses[position] as number) * mask;
      weight += mask;
    }
    total += sum;
    totalWeight += weight;
    if (weight > 0) {
      rowMeanSum += sum / weight;
      rowsWithTokens++;
    }
    if (rowLosses.length > longest) longest = rowLosses.length;
  }
  switch (mode) {
    case 'token-mean':
      return totalWeight === 0 ? 0 : total / totalWeight;
    case 'token-sum':
      return total;
    case 'seq-mean-token-sum':
      return rows === 0 ? 0 : total / rows;
    case 'seq-mean-token-mean':
      return rowsWithTokens === 0 ? 0 : rowMeanSum / rowsWithTokens;
    case 'seq-mean-token-sum-norm': {
      const horizon = options.horizon ?? longest;
      if (options.horizon !== undefined && !(Number.isInteger(horizon) && horizon > 0)) {
        throw new InvalidArgumentError({
          argument: 'horizon',
          message: `must be a positive integer, got ${horizon}`,
        });
      }
      if (rows === 0 || horizon === 0) return 0;
      return sequenceReduction === 'sum' ? total / horizon : total / rows / horizon;
    }
  }
}

/** Masked mean over the whole batch (verl `masked_mean`), 0 when no position counts. */
export function maskedMean(
  values: readonly ArrayLike<number>[],
  masks: readonly ArrayLike<number>[],
): number {
  return aggregateLoss(values, masks, 'token-mean');
}
