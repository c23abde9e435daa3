/** Keys and values of one layer, [batch, heads, length, headDim] row-major. */
export interface LayerKeyValues {
  key: Float32Array;
  value: Float32Array;
}

/**
 * Past keys/values of a batch of sequences, left-padded to a common `length`: row r holds its
 * `validLengths[r]` real positions at the end, and padding (masked out) before them. Immutable.
 */
export class BatchKeyValues {
  constructor(
    readonly layers: readonly LayerKeyValues[],
    readonly batch: number,
    readonly heads: number,
    readonly length: number,
    readonly headDim: number,
    readonly validLengths: Int32Array,
  ) {}

  static empty(options: { layers: number; heads: number; headDim: number; batch?: number }): BatchKeyValues {
    const batch = options.batch ?? 1;
    return new BatchKeyValues(
      Array.from({ length: options.layers }, () => ({
        key: new Float32Array(0),
        value: new Float32Array(0),
      })),
      batch,
      options.heads,
      0,
      options.headDim,
      new Int32Array(batch),
    );
  }

  /**
   * Gathers rows from several caches into one left-padded batch: `sources[i]` supplies row `rows[i]` of
   * `caches[i]`, keeping its first `keep[i]` valid positions (default all).
   */
  static gather(
    picks: readonly { cache: BatchKeyValues; row: number; keep?: number }[],
    shape: { layers: number; heads: number; headDim: number },
  ): BatchKeyValues {
    const lengths = Int32Array.from(picks, ({ cache, row, keep }) =>
      Math.min(keep ?? Infinity, cache.validLengths[row] as number),
    );
    const length = lengths.reduce((maximum, value) => Math.max(maximum, value), 0);
    const { heads, headDim } = shape;
    const batch = picks.length;
    const layers: LayerKeyValues[] = [];
    for (let layer = 0; layer < shape.layers; layer++) {
      const key = new Float32Array(batch * heads * length * headDim);
      const value = new Float32Array(batch * heads * length * headDim);
      picks.forEach(({ cache, row }, target) => {
        const valid = lengths[target] as number;
        const source = cache.layers[layer] as LayerKeyValues;
        const sourceStart = cache.length - (cache.validLengths[row] as number);
        for (let head = 0; head < heads; head++) {
          const from = ((row * heads + head) * cache.length + sourceStart) * headDim;
          const to = ((target * heads + head) * length + (length - valid)) * headDim;
          key.set(source.key.subarray(from, from + valid * headDim), to);
          value.set(source.value.subarray(from, from + valid * headDim), to);
        }
      });
      layers.push({ key, value });
    }
    return new BatchKeyValues(layers, batch, heads, length, headDim, lengths);
  }

  /** The attention mask [batch, length + newTokens]: 0 on padding, 1 on real and new positions. */
  attentionMask(newTokens: number): Int32Array {
    const width = this.length + newTokens;
    const mask = new Int32Array(this.batch * width);
    for (let row = 0; row < this.batch; row++) {
      mask.fill(1, row * width + (this.length - (this.validLengths[row] as number)), (row + 1) * width);
    }
    return mask;
  }

  /** Number of floats the cache holds (both keys and values, all layers). */
  get size(): number {
    return this.layers.length * 2 * this.batch * this.heads * this.length * this.headDim;
  }
}
