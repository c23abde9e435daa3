import type { KeyValueCache } from './key-value-cache.js';

/** A cached prefix: its tokens, their keys/values (batch 1) and the next-token logits after the last one. */
export interface PrefixEntry<Cache = KeyValueCache> {
  tokenIds: Int32Array;
  cache: Cache;
  /** Logits predicting the token after `tokenIds` (one row). */
  nextLogits: Float32Array;
}

/**
 * Least-recently-used store of computed prefixes, bounded by the total number of cached tokens. A lookup returns
 * the entry sharing the longest common prefix with the prompt; keys/values of those positions depend only on
 * them (causal attention), so they can be reused as they are.
 */
export class PrefixCache<Cache = KeyValueCache> {
  private readonly entries: PrefixEntry<Cache>[] = [];
  private tokens = 0;
  readonly maximumTokens: number;

  constructor(options: { maximumTokens: number }) {
    this.maximumTokens = options.maximumTokens;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The entry with the longest common prefix (≥ 1 token) and its length, marked as recently used. */
  lookup(tokenIds: ArrayLike<number>): { entry: PrefixEntry<Cache>; commonLength: number } | undefined {
    let best: { entry: PrefixEntry<Cache>; commonLength: number; index: number } | undefined;
    this.entries.forEach((entry, index) => {
      const limit = Math.min(entry.tokenIds.length, tokenIds.length);
      let common = 0;
      while (common < limit && entry.tokenIds[common] === tokenIds[common]) common++;
      if (common > 0 && (best === undefined || common > best.commonLength))
        best = { entry, commonLength: common, index };
    });
    if (best === undefined) return undefined;
    this.entries.splice(best.index, 1);
    this.entries.push(best.entry);
    return { entry: best.entry, commonLength: best.commonLength };
  }

  /** Adds an entry (replacing one with identical tokens) and evicts the least recently used beyond the budget. */
  store(entry: PrefixEntry<Cache>): void {
    if (entry.tokenIds.length > this.maximumTokens || this.maximumTokens <= 0) return;
    const existing = this.entries.findIndex(
      (candidate) =>
        candidate.tokenIds.length === entry.tokenIds.length &&
        candidate.tokenIds.every((tokenId, index) => tokenId === entry.tokenIds[index]),
    );
    if (existing >= 0) {
      this.tokens -= (this.entries[existing] as PrefixEntry<Cache>).tokenIds.length;
      this.entries.splice(existing, 1);
    }
    this.entries.push(entry);
    this.tokens += entry.tokenIds.length;
    while (this.tokens > this.maximumTokens && this.entries.length > 0) {
      const evicted = this.entries.shift() as PrefixEntry<Cache>;
      this.tokens -= evicted.tokenIds.length;
    }
  }

  clear(): void {
    this.entries.length = 0;
    this.tokens = 0;
  }
}
