import { InvalidArgumentError } from '@arpo/core';

/** Samples drawn for one item and how many of them were correct. */
export interface ItemSampleCounts {
  /** Number of samples drawn (n). */
  samples: number;
  /** Number of correct samples among them (c). */
  correct: number;
}

function checkCounts(counts: ItemSampleCounts, argument: string): void {
  const { samples, correct } = counts;
  if (!Number.isInteger(samples) || samples < 1) {
    throw new InvalidArgumentError({
      argument,
      message: `samples must be a positive integer, got ${samples}`,
    });
  }
  if (!Number.isInteger(correct) || correct < 0 || correct > samples) {
    throw new InvalidArgumentError({
      argument,
      message: `correct must be an integer in [0, ${samples}], got ${correct}`,
    });
  }
}

function checkK(k: number, samples: number, argument: string): void {
  if (!Number.isInteger(k) || k < 1 || k > samples) {
    throw new InvalidArgumentError({
      argument,
      message: `k must be an integer in [1, ${samples}] (k cannot exceed the samples drawn), got ${k}`,
    });
  }
}

/**
 * Unbiased pass@k estimate for one item (Chen et al. 2021, "Evaluating Large Language Models Trained on
 * Code"): the probability that at least one of k samples drawn without replacement from the n generated ones is
 * correct, `1 - C(n-c, k) / C(n, k)`.
 *
 * Computed in the numerically stable product form `1 - prod_{i=n-c+1}^{n} (1 - k/i)`, which never forms the
 * (huge) binomial coefficients.
 */
export function passAtK(options: ItemSampleCounts & { k: number }): number {
  checkCounts(options, 'options');
  checkK(options.k, options.samples, 'options.k');
  const { samples, correct, k } = options;
  if (samples - correct < k) return 1;
  let allWrong = 1;
  for (let index = samples - correct + 1; index <= samples; index++) allWrong *= 1 - k / index;
  return 1 - allWrong;
}

/** pass@k of every item (same order as `items`). */
export function passAtKPerItem(options: { items: readonly ItemSampleCounts[]; k: number }): Float64Array {
  const values = new Float64Array(options.items.length);
  options.items.forEach((item, index) => {
    checkCounts(item, `items[${index}]`);
    checkK(options.k, item.samples, `k (items[${index}] has ${item.samples} samples)`);
    values[index] = passAtK({ ...item, k: options.k });
  });
  return values;
}

/** Mean unbiased pass@k over items. Every item must have at least k samples. */
export function meanPassAtK(options: { items: readonly ItemSampleCounts[]; k: number }): number {
  if (options.items.length === 0) {
    throw new InvalidArgumentError({ argument: 'items', message: 'needs at least one item' });
  }
  const values = passAtKPerItem(options);
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/**
 * The k values worth reporting for n samples per item: powers of two up to n, plus n itself
 * (n = 10 gives 1, 2, 4, 8, 10).
 */
export function defaultPassAtKValues(samples: number): number[] {
  const values: number[] = [];
  for (let k = 1; k <= samples; k *= 2) values.push(k);
  if (values[values.length - 1] !== samples && samples >= 1) values.push(samples);
  return values;
}
