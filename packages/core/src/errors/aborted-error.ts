import { ArpoError } from './arpo-error.js';

const name = 'ArpoAbortedError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** The caller cancelled the operation through its `AbortSignal`. */
export class AbortedError extends ArpoError {
  private readonly [symbol] = true;

  readonly operation: string;

  constructor(options: { operation: string; cause?: unknown }) {
    super({ name, code: 'aborted', message: `${options.operation} was aborted`, cause: options.cause });
    this.operation = options.operation;
  }

  static override isInstance(error: unknown): error is AbortedError {
    return ArpoError.hasMarker(error, marker);
  }
}
