import { describe, expect, it } from 'vitest';
import { BatchKeyValues } from './native-key-values.js';
import { SlotKeyValues } from './slot-key-values.js';

const shape = { layers: 1, heads: 2, headDim: 2 };

/** A one-row cache whose position p of head h holds the values [100·h + p + offset, -(…)]. */
function rowCache(length: number, offset: number): BatchKeyValues {
  const key = new Float32Array(2 * length * 2);
  for (let head = 0; head < 2; head++) {
    for (let position = 0; position < length; position++) {
      const value = 100 * head + position + offset;
      key.set([value, -value], (head * length + position) * 2);
    }
  }
  return new BatchKeyValues([{ key, value: key.map((x) => x * 2) }], 1, 2, length, 2, Int32Array.of(length));
}

describe('SlotKeyValues', () => {
  it('holds rows in place through appends, growth and row removal, and gives rows back unchanged', () => {
    const left = BatchKeyValues.gather(
      [
        { cache: rowCache(3, 0), row: 0 },
        { cache: rowCache(5, 1000), row: 0 },
      ],
      shape,
    );
    const slots = SlotKeyValues.fromBatch(left, 0);
    expect(slots.capacity).toBe(32);
    expect(Array.from(slots.attentionMask(1).subarray(0, 33)).reduce((sum, bit) => sum + bit, 0)).toBe(4);
    // 40 appends force a reallocation past capacity 32.
    for (let step = 0; step < 40; step++) {
      const added = new Float32Array(2 * 2 * 2);
      for (let row = 0; row < 2; row++) {
        for (let head = 0; head < 2; head++) {
          const value = 100 * head + (slots.lengths[row] as number) + row * 1000;
          added.set([value, -value], (row * 2 + head) * 2);
        }
      }
      slots.append([{ key: added, value: added.map((x) => x * 2) }]);
    }
    expect(Array.from(slots.lengths)).toEqual([43, 45]);
    expect(slots.capacity).toBe(64);
    const kept = slots.keep([1]);
    expect(kept.batch).toBe(1);
    const back = kept.rowToBatch(0);
    expect(back.length).toBe(45);
    const expected = rowCache(45, 1000);
    expect(Array.from(back.layers[0]!.key)).toEqual(Array.from(expected.layers[0]!.key));
    expect(Array.from(back.layers[0]!.value)).toEqual(Array.from(expected.layers[0]!.value));
  });
});
