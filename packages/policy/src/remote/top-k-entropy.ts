/** Where the top-k logprobs of one position came from. */
export interface TopKEntropyOptions {
  /** Tokens in the vocabulary (V). */
  vocabularySize: number;
  /**
   * The k the server was asked for. vLLM adds the sampled token to `top_logprobs` when it is not among the top
   * k, so a position can carry k + 1 entries; the extra one is not a top-k token and its smaller probability does
   * not bound the unseen tokens. Default: every entry is a top-k entry.
   */
  topK?: number;
}

/**
 * Entropy (nats) of a next-token distribution known only through its top-k logprobs, with its bounds.
 *
 * With top-k probabilities p₁ ≥ … ≥ p_k and the unseen mass r = 1 − Σ pᵢ spread over the other V − m tokens (m
 * the entries received: k, or k + 1 with vLLM's sampled token), each unseen token has probability at most p_k, the
 * k-th largest, so its −log q ≥ −log p_k. Hence
 *
 *   H ≥ H_m + r·(−log p_k)            (lower: the tail as concentrated as the top-k allows)
 *   H ≤ H_m + r·log((V − m) / r)      (upper: the tail uniform over the V − m unseen tokens)
 *
 * where H_m = −Σ pᵢ log pᵢ over the entries. The estimate is the lower bound: exact when r = 0, and never above
 * the truth. The gap `upperBound − estimate` is the documented error bound (small when the top-k holds nearly all
 * mass).
 */
export function topKEntropy(
  logprobs: ArrayLike<number>,
  options: TopKEntropyOptions,
): { estimate: number; upperBound: number } {
  const finite: number[] = [];
  let partial = 0;
  let mass = 0;
  for (let index = 0; index < logprobs.length; index++) {
    const logprob = logprobs[index] as number;
    if (!Number.isFinite(logprob)) continue;
    const probability = Math.exp(logprob);
    partial -= probability * logprob;
    mass += probability;
    finite.push(logprob);
  }
  const rest = Math.max(0, 1 - mass);
  const unseen = options.vocabularySize - finite.length;
  if (finite.length === 0) return { estimate: 0, upperBound: Math.log(options.vocabularySize) };
  if (rest <= 1e-12 || unseen <= 0) return { estimate: partial, upperBound: partial };
  // The k-th largest entry bounds every unseen token (k+1 entries at most, so sorting is cheap).
  finite.sort((first, second) => second - first);
  const k = Math.min(finite.length, options.topK ?? finite.length);
  const boundary = finite[k - 1] as number;
  const estimate = partial + rest * -boundary;
  const upperBound = partial + rest * Math.log(unseen / rest);
  return { estimate, upperBound: Math.max(estimate, upperBound) };
}
