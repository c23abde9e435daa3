import type { AdvantageGroupInput } from '@arpo/core';

/** A group with the given scores and all-ones masks of the given lengths (default 3 tokens each). */
export function makeGroup(
  id: string,
  scores: readonly number[],
  lengths?: readonly number[],
): AdvantageGroupInput {
  return {
    id,
    scores: Float64Array.from(scores),
    lossMasks: scores.map((_, index) => new Uint8Array(lengths?.[index] ?? 3).fill(1)),
  };
}

/** The value at the first policy token of every trajectory of a group. */
export function firstTokenValues(
  advantages: readonly Float32Array[],
  masks: readonly Uint8Array[],
): number[] {
  return advantages.map((row, index) => {
    const mask = masks[index] as Uint8Array;
    const position = mask.indexOf(1);
    return position === -1 ? 0 : (row[position] as number);
  });
}

/** Asserts two number lists agree elementwise within `tolerance`; returns the largest difference. */
export function maxDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let largest = 0;
  for (let index = 0; index < actual.length; index++) {
    largest = Math.max(largest, Math.abs((actual[index] as number) - (expected[index] as number)));
  }
  return largest;
}
