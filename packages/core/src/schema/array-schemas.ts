import { z } from 'zod';

// Large numeric arrays are checked with one plain loop inside a single refinement, never with a zod schema per
// element: a trajectory can hold tens of thousands of tokens.

function firstBad(values: readonly unknown[], ok: (value: unknown) => boolean): number {
  for (let index = 0; index < values.length; index++) if (!ok(values[index])) return index;
  return -1;
}

function checkedArray(description: string, ok: (value: unknown) => boolean) {
  return z.custom<number[]>((value) => Array.isArray(value) && firstBad(value, ok) === -1, {
    error: (issue) => {
      const value = issue.input;
      if (!Array.isArray(value)) return `expected an array of ${description}`;
      const index = firstBad(value, ok);
      return `element ${index} is ${JSON.stringify(value[index])}, expected ${description}`;
    },
  });
}

export const numberArraySchema = () =>
  checkedArray('finite numbers', (value) => typeof value === 'number' && Number.isFinite(value));
export const integerArraySchema = () =>
  checkedArray('integers', (value) => typeof value === 'number' && Number.isInteger(value));
export const maskArraySchema = () => checkedArray('0 or 1', (value) => value === 0 || value === 1);
