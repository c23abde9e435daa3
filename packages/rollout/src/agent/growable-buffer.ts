type TypedArray = Int32Array | Float32Array | Uint8Array;
type TypedArrayConstructor<T extends TypedArray> = { new (length: number): T };

/** An append-only typed array that doubles its capacity: per-token data without `number[]` boxing. */
export class GrowableBuffer<T extends TypedArray> {
  private data: T;
  private size = 0;

  constructor(
    private readonly create: TypedArrayConstructor<T>,
    initialCapacity = 64,
  ) {
    this.data = new create(Math.max(1, initialCapacity));
  }

  get length(): number {
    return this.size;
  }

  private reserve(extra: number): void {
    if (this.size + extra <= this.data.length) return;
    let capacity = this.data.length;
    while (capacity < this.size + extra) capacity *= 2;
    const next = new this.create(capacity);
    next.set(this.data.subarray(0, this.size) as never);
    this.data = next;
  }

  push(value: number): void {
    this.reserve(1);
    this.data[this.size++] = value;
  }

  append(values: ArrayLike<number>): void {
    this.reserve(values.length);
    this.data.set(values as never, this.size);
    this.size += values.length;
  }

  /** Appends `count` copies of `value`. */
  fill(value: number, count: number): void {
    this.reserve(count);
    this.data.fill(value, this.size, this.size + count);
    this.size += count;
  }

  /** Drops everything from `length` on. */
  truncate(length: number): void {
    this.size = Math.min(this.size, Math.max(0, length));
  }

  /** A view of the first `length` values (default all); valid until the next append. */
  view(start = 0, end = this.size): T {
    return this.data.subarray(start, end) as T;
  }

  /** An owned copy of [start, end). */
  copy(start = 0, end = this.size): T {
    return this.data.slice(start, end) as T;
  }

  /** A new buffer holding a copy of the first `length` values. */
  clone(length = this.size): GrowableBuffer<T> {
    const buffer = new GrowableBuffer(this.create, Math.max(64, length));
    buffer.append(this.data.subarray(0, length));
    return buffer;
  }
}
