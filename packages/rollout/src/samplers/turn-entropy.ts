import type { GeneratedSequence } from '@arpo/core';

/**
 * Reference-mode entropy of a turn (the official ARPO code): over the first `k` generated positions, the
 * entropy of the top-`topK` truncated distribution −Σ p log p (p = exp(top logprob), not renormalised),
 * summed over positions and divided by ln|V|. Falls back to the reported per-token entropies when the policy
 * returned no top logprobs.
 */
export function referenceTurnEntropy(
  sequence: GeneratedSequence,
  options: { vocabularySize: number; k: number; topK: number },
): number {
  const positions = Math.min(options.k, sequence.tokenIds.length);
  let total = 0;
  for (let position = 0; position < positions; position++) {
    const top = sequence.topLogprobs?.[position];
    if (top === undefined) {
      total += sequence.entropies[position] ?? 0;
      continue;
    }
    const count = Math.min(options.topK, top.logprobs.length);
    for (let index = 0; index < count; index++) {
      const logprob = top.logprobs[index] as number;
      total -= Math.exp(logprob) * logprob;
    }
  }
  return total / Math.log(options.vocabularySize);
}

/**
 * Paper-mode entropy of a turn: the mean exact (full-vocabulary, when the policy offers it) per-token entropy
 * over its first `k` generated tokens, in nats. 0 for an empty turn.
 */
export function meanTurnEntropy(sequence: GeneratedSequence, options: { k: number }): number {
  const positions = Math.min(options.k, sequence.entropies.length);
  if (positions === 0) return 0;
  let total = 0;
  for (let position = 0; position < positions; position++) total += sequence.entropies[position] as number;
  return total / positions;
}
