import { BatchKeyValues, type LayerKeyValues } from './native-key-values.js';

/** Capacity grows in steps of this many positions, so buffers are reallocated only every so many tokens. */
const capacityStep = 32;

/**
 * The KV cache of a decoding batch, kept in place: per layer one [batch, heads, capacity, headDim] buffer in
 * which row r holds its `lengths[r]` positions in slots 0..lengths[r]-1; the slots after them are masked. The
 * whole buffer is fed as the past of each step (feeding is free: onnxruntime reads the array in place) and the
 * step's new keys/values are written into the next slot, so nothing proportional to the cache is copied out of
 * onnxruntime per token. Mutable; owned by one decode loop.
 */
export class SlotKeyValues {
  private constructor(
    public layers: LayerKeyValues[],
    readonly batch: number,
    readonly heads: number,
    readonly headDim: number,
    public capacity: number,
    readonly lengths: Int32Array,
  ) {}

  /** Copies a left-padded batch cache into slots. */
  static fromBatch(cache: BatchKeyValues, extra = capacityStep): SlotKeyValues {
    const { batch, heads, headDim } = cache;
    const capacity = roundUp(cache.length + extra);
    const lengths = Int32Array.from(cache.validLengths);
    const layers = cache.layers.map((source) => {
      const key = new Float32Array(batch * heads * capacity * headDim);
      const value = new Float32Array(batch * heads * capacity * headDim);
      for (let row = 0; row < batch; row++) {
        const valid = lengths[row] as number;
        for (let head = 0; head < heads; head++) {
          const from = ((row * heads + head) * cache.length + cache.length - valid) * headDim;
          const to = (row * heads + head) * capacity * headDim;
          key.set(source.key.subarray(from, from + valid * headDim), to);
          value.set(source.value.subarray(from, from + valid * headDim), to);
        }
      }
      return { key, value };
    });
    return new SlotKeyValues(layers, batch, heads, headDim, capacity, lengths);
  }

  /** The longest row. */
  get maximumLength(): number {
    let maximum = 0;
    for (const length of this.lengths) if (length > maximum) maximum = length;
    return maximum;
  }

  /** Makes room for `length` positions per row (reallocating in steps of 32). */
  ensureCapacity(length: number): void {
    if (length <= this.capacity) return;
    this.layers = this.resize(
      Array.from({ length: this.batch }, (_, row) => row),
      roundUp(length),
    );
    this.capacity = roundUp(length);
  }

  /** Keeps only `rows` (in that order), e.g. after sequences finished. */
  keep(rows: readonly number[]): SlotKeyValues {
    const lengths = Int32Array.from(rows, (row) => this.lengths[row] as number);
    const layers = this.resize(rows, this.capacity);
    return new SlotKeyValues(layers, rows.length, this.heads, this.headDim, this.capacity, lengths);
  }

  /** Appends one position per row from the step's new keys/values ([batch, heads, 1, headDim] per layer). */
  append(added: readonly LayerKeyValues[]): void {
    this.ensureCapacity(this.maximumLength + 1);
    const { heads, headDim, capacity } = this;
    added.forEach((source, layer) => {
      const target = this.layers[layer] as LayerKeyValues;
      for (let row = 0; row < this.batch; row++) {
        const slot = this.lengths[row] as number;
        for (let head = 0; head < heads; head++) {
          const from = (row * heads + head) * headDim;
          const to = ((row * heads + head) * capacity + slot) * headDim;
          target.key.set(source.key.subarray(from, from + headDim), to);
          target.value.set(source.value.subarray(from, from + headDim), to);
        }
      }
    });
    for (let row = 0; row < this.batch; row++) this.lengths[row] = (this.lengths[row] as number) + 1;
  }

  /** The mask [batch, capacity + newTokens]: 1 on each row's filled slots and on the new positions. */
  attentionMask(newTokens: number): Int32Array {
    const width = this.capacity + newTokens;
    const mask = new Int32Array(this.batch * width);
    for (let row = 0; row < this.batch; row++) {
      mask.fill(1, row * width, row * width + (this.lengths[row] as number));
      mask.fill(1, row * width + this.capacity, (row + 1) * width);
    }
    return mask;
  }

  /** Row `row` as a one-row left-padded cache (for the prefix cache). */
  rowToBatch(row: number): BatchKeyValues {
    const length = this.lengths[row] as number;
    const { heads, headDim, capacity } = this;
    const layers = this.layers.map((source) => {
      const key = new Float32Array(heads * length * headDim);
      const value = new Float32Array(heads * length * headDim);
      for (let head = 0; head < heads; head++) {
        const from = (row * heads + head) * capacity * headDim;
        key.set(source.key.subarray(from, from + length * headDim), head * length * headDim);
        value.set(source.value.subarray(from, from + length * headDim), head * length * headDim);
      }
      return { key, value };
    });
    return new BatchKeyValues(layers, 1, heads, length, headDim, Int32Array.of(length));
  }

  private resize(rows: readonly number[], capacity: number): LayerKeyValues[] {
    const { heads, headDim } = this;
    return this.layers.map((source) => {
      const key = new Float32Array(rows.length * heads * capacity * headDim);
      const value = new Float32Array(rows.length * heads * capacity * headDim);
      rows.forEach((row, target) => {
        const valid = this.lengths[row] as number;
        for (let head = 0; head < heads; head++) {
          const from = (row * heads + head) * this.capacity * headDim;
          const to = (target * heads + head) * capacity * headDim;
          key.set(source.key.subarray(from, from + valid * headDim), to);
          value.set(source.value.subarray(from, from + valid * headDim), to);
        }
      });
      return { key, value };
    });
  }
}

function roundUp(length: number): number {
  return Math.max(capacityStep, Math.ceil(length / capacityStep) * capacityStep);
}
