import { ArpoError } from '@arpo/core';

const name = 'ArpoResumeMismatchError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A checkpoint does not belong to the run resuming from it (another seed, another RNG derivation, another
 * format): continuing would silently produce a different run. Not retryable: use a new directory.
 */
export class ResumeMismatchError extends ArpoError {
  private readonly [symbol] = true;

  /** The checkpoint manifest. */
  readonly source: string;
  /** The manifest field that does not match, for example `random.seed`. */
  readonly field: string;

  constructor(options: { source: string; field: string; message: string }) {
    super({
      name,
      code: 'resume-mismatch',
      message: `${options.source}: ${options.field}: ${options.message}; use a new directory or the same settings`,
    });
    this.source = options.source;
    this.field = options.field;
  }

  static override isInstance(error: unknown): error is ResumeMismatchError {
    return ArpoError.hasMarker(error, marker);
  }
}
