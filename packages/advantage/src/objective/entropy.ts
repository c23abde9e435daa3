import { InvalidArgumentError } from '@arpo/core';

function rowEntropy(logits: ArrayLike<number>, offset: number, length: number, where: string): number {
  let maximum = Number.NEGATIVE_INFINITY;
  for (let index = offset; index < offset + length; index++) {
    const logit = logits[index] as number;
    if (Number.isNaN(logit) || logit === Number.POSITIVE_INFINITY) {
      throw new InvalidArgumentError({ argument: where, message: `logit ${index - offset} is ${logit}` });
    }
    if (logit > maximum) maximum = logit;
  }
  if (maximum === Number.NEGATIVE_INFINITY) {
    throw new InvalidArgumentError({ argument: where, message: 'has no finite logit' });
  }
  // Shift by the maximum so exp never overflows: H = logsumexp(x) - Σ softmax(x)·x.
  let partition = 0;
  for (let index = offset; index < offset + length; index++)
    partition += Math.exp((logits[index] as number) - maximum);
  const logPartition = Math.log(partition);
  let expected = 0;
  for (let index = offset; index < offset + length; index++) {
    const shifted = (logits[index] as number) - maximum;
    // -Infinity logits (masked vocabulary) have probability 0 and contribute nothing, not 0 · -Infinity = NaN.
    if (shifted === Number.NEGATIVE_INFINITY) continue;
    expected += Math.exp(shifted - logPartition) * shifted;
  }
  return logPartition - expected;
}

/**
 * Entropy in nats of softmax(logits) (verl `entropy_from_logits`: logsumexp(x) - Σ softmax(x)·x), computed
 * stably in float64. -Infinity logits are allowed (masked tokens); NaN and +Infinity throw.
 */
export function entropyFromLogits(logits: ArrayLike<number>): number {
  if (logits.length === 0) throw new InvalidArgumentError({ argument: 'logits', message: 'is empty' });
  return rowEntropy(logits, 0, logits.length, 'logits');
}

/** Entropy of every row of a row-major [positions × vocabularySize] logits matrix. */
export function entropiesFromLogits(logits: ArrayLike<number>, vocabularySize: number): Float32Array {
  if (!(Number.isInteger(vocabularySize) && vocabularySize > 0)) {
    throw new InvalidArgumentError({
      argument: 'vocabularySize',
      message: `must be a positive integer, got ${vocabularySize}`,
    });
  }
  if (logits.length % vocabularySize !== 0) {
    throw new InvalidArgumentError({
      argument: 'logits',
      message: `length ${logits.length} is not a multiple of the vocabulary size ${vocabularySize}`,
    });
  }
  const rows = logits.length / vocabularySize;
  const result = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    result[row] = rowEntropy(logits, row * vocabularySize, vocabularySize, `logits[row ${row}]`);
  }
  return result;
}
