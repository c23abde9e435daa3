import { InvalidArgumentError } from '@arpo/core';

/** Checks that every named batch has the same number of rows as `reference` and the same row lengths. */
export function checkRows(
  reference: { name: string; rows: readonly ArrayLike<number>[] },
  others: readonly { name: string; rows: readonly ArrayLike<number>[] | undefined }[],
): void {
  if (!Array.isArray(reference.rows)) {
    throw new InvalidArgumentError({ argument: reference.name, message: 'expected an array of rows' });
  }
  for (const other of others) {
    if (other.rows === undefined) continue;
    if (!Array.isArray(other.rows) || other.rows.length !== reference.rows.length) {
      throw new InvalidArgumentError({
        argument: other.name,
        message: `has ${Array.isArray(other.rows) ? other.rows.length : 'no'} rows but ${reference.name} has ${reference.rows.length}`,
      });
    }
    for (let row = 0; row < reference.rows.length; row++) {
      const expected = (reference.rows[row] as ArrayLike<number>).length;
      const actual = (other.rows[row] as ArrayLike<number> | undefined)?.length;
      if (actual !== expected) {
        throw new InvalidArgumentError({
          argument: `${other.name}[${row}]`,
          message: `has length ${actual} but ${reference.name}[${row}] has length ${expected}`,
        });
      }
    }
  }
}
