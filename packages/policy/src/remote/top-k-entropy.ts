/**
 * Entropy (nats) of a next-token distribution known only through its top-k logprobs, with its bounds.
 *
 * With top-k probabilities p₁ ≥ … ≥ p_k and the unseen mass r = 1 − Σ pᵢ spread over the other V − k tokens,
 * each unseen token has probability at most p_k, so its −log q ≥ −log p_k. Hence
 *
 *   H ≥ H_k + r·(−log p_k)            (lower: the tail as concentrated as the top-k allows)
 *   H ≤ H_k + r·log((V − k) / r)      (upper: the tail uniform over the V − k unseen tokens)
 *
 * where H_k = −Σ pᵢ log pᵢ. The estimate is the lower bound: exact when r = 0, and never above the truth.
 * The gap `upper − estimate` is the documented error bound (small when the top-k holds nearly all mass).
 */
export function topKEntropy(
  logprobs: ArrayLike<number>,
  vocabularySize: number,
): { estimate: number; upperBound: number } {
  let partial = 0;
  let mass = 0;
  let smallest = 0;
  for (let index = 0; index < logprobs.length; index++) {
    const logprob = logprobs[index] as number;
    if (!Number.isFinite(logprob)) continue;
    const probability = Math.exp(logprob);
    partial -= probability * logprob;
    mass += probability;
    smallest = index === 0 ? logprob : Math.min(smallest, logprob);
  }
  const rest = Math.max(0, 1 - mass);
  const unseen = vocabularySize - logprobs.length;
  if (rest <= 1e-12 || unseen <= 0) return { estimate: partial, upperBound: partial };
  const estimate = partial + rest * -smallest;
  const upperBound = partial + rest * Math.log(unseen / rest);
  return { estimate, upperBound: Math.max(estimate, upperBound) };
}
