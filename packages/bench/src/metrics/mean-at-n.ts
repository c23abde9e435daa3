import { InvalidArgumentError } from '@arpo/core';

/**
 * mean@n: every item's scores over its n samples are averaged, then the item averages are averaged. With 0/1
 * scores this is the expected accuracy of one sample (equal to pass@1); with partial scores (F1) it is the
 * expected score.
 */
export function meanAtN(scoresPerItem: readonly (readonly number[])[]): number {
  const perItem = itemMeans(scoresPerItem);
  let sum = 0;
  for (const value of perItem) sum += value;
  return sum / perItem.length;
}

/** The mean score of every item over its samples (same order as the input). */
export function itemMeans(scoresPerItem: readonly (readonly number[])[]): Float64Array {
  if (scoresPerItem.length === 0) {
    throw new InvalidArgumentError({ argument: 'scoresPerItem', message: 'needs at least one item' });
  }
  const means = new Float64Array(scoresPerItem.length);
  scoresPerItem.forEach((scores, itemIndex) => {
    if (scores.length === 0) {
      throw new InvalidArgumentError({
        argument: `scoresPerItem[${itemIndex}]`,
        message: 'an item needs at least one sample score',
      });
    }
    let sum = 0;
    for (let sampleIndex = 0; sampleIndex < scores.length; sampleIndex++) {
      const score = scores[sampleIndex] as number;
      if (!Number.isFinite(score)) {
        throw new InvalidArgumentError({
          argument: `scoresPerItem[${itemIndex}][${sampleIndex}]`,
          message: `score must be a finite number, got ${score}`,
        });
      }
      sum += score;
    }
    means[itemIndex] = sum / scores.length;
  });
  return means;
}
