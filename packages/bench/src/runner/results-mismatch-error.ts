import { ArpoError } from '@arpo/core';

const name = 'ArpoResultsMismatchError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A results file was written by a different run (another seed, other sampling settings, a changed item, no run
 * header), so its samples cannot be resumed into this one. Names the file, the field and both values.
 */
export class ResultsMismatchError extends ArpoError {
  private readonly [symbol] = true;

  readonly file: string;
  /** What differs: `seed`, `settings.temperature`, `scorer`, `item sum-3`, `header`. */
  readonly field: string;
  /** The value recorded in the file (JSON text). */
  readonly previous: string;
  /** The value of this run (JSON text). */
  readonly current: string;

  constructor(options: { file: string; field: string; previous: string; current: string }) {
    super({
      name,
      code: 'results-mismatch',
      message:
        `Results file ${options.file} was written by a different run: ${options.field} is ${options.previous} ` +
        `there but ${options.current} now. Resuming would mix samples of two runs; use another resultsPath, ` +
        `or onResultsMismatch: 'restart' to discard the file and start over.`,
    });
    this.file = options.file;
    this.field = options.field;
    this.previous = options.previous;
    this.current = options.current;
  }

  static override isInstance(error: unknown): error is ResultsMismatchError {
    return ArpoError.hasMarker(error, marker);
  }
}
