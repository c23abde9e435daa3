import { ArpoError } from './arpo-error.js';

const name = 'ArpoTimeoutError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** An operation ran past its deadline. Retryable: the same call may finish next time. */
export class TimeoutError extends ArpoError {
  private readonly [symbol] = true;

  readonly operation: string;
  readonly timeoutMs: number;

  constructor(options: { operation: string; timeoutMs: number; cause?: unknown }) {
    super({
      name,
      code: 'timeout',
      message: `${options.operation} timed out after ${options.timeoutMs} ms`,
      cause: options.cause,
      isRetryable: true,
    });
    this.operation = options.operation;
    this.timeoutMs = options.timeoutMs;
  }

  static override isInstance(error: unknown): error is TimeoutError {
    return ArpoError.hasMarker(error, marker);
  }
}
