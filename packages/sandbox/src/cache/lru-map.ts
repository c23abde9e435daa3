import { InvalidArgumentError } from '@arpo/core';

/** A Map bounded to `maxEntries`, evicting the least recently used entry (a `get` counts as a use). */
export class LruMap<Key, Value> {
  private readonly entries = new Map<Key, Value>();
  /** Entries evicted so far. */
  evictions = 0;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidArgumentError({
        argument: 'maxEntries',
        message: `must be an integer ≥ 1, got ${maxEntries}`,
      });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: Key): Value | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // Re-inserting moves the key to the end of the Map's insertion order: most recently used.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: Key, value: Value): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as Key;
      this.entries.delete(oldest);
      this.evictions += 1;
    }
  }

  delete(key: Key): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Entries from least to most recently used. */
  [Symbol.iterator](): IterableIterator<[Key, Value]> {
    return this.entries.entries();
  }
}
