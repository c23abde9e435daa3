import type { RolloutGroup } from '@arpo/core';

type TypedArrayName = 'Int32Array' | 'Float32Array' | 'Uint8Array' | 'Float64Array';
const constructors = { Int32Array, Float32Array, Uint8Array, Float64Array } as const;

/** A rollout group as one JSON line: typed arrays become `{ $typed, values }` (floats round-trip exactly). */
export function rolloutGroupToLine(group: RolloutGroup): string {
  return JSON.stringify(group, (_key, value) => {
    for (const name of Object.keys(constructors) as TypedArrayName[]) {
      if (value instanceof constructors[name])
        return { $typed: name, values: Array.from(value as ArrayLike<number>) };
    }
    return value;
  });
}

/** Reads a line written by `rolloutGroupToLine` back into a group with typed arrays. */
export function rolloutGroupFromLine(line: string): RolloutGroup {
  return JSON.parse(line, (_key, value) => {
    if (value !== null && typeof value === 'object' && typeof value.$typed === 'string') {
      const typed = constructors[value.$typed as TypedArrayName];
      if (typed !== undefined) return typed.from(value.values as number[]);
    }
    return value;
  }) as RolloutGroup;
}
