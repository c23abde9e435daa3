const marker = 'arpo.error';
const symbol = Symbol.for(marker);

export interface ArpoErrorOptions {
  /** Stable class name, for example `ArpoValidationError`. */
  name: string;
  /** Stable machine-readable code, for example `validation-failed`. Never changes for a given class. */
  code: string;
  message: string;
  cause?: unknown;
  /** Whether retrying the same operation may succeed (timeouts, 429, 5xx, connection resets). */
  isRetryable?: boolean;
}

/**
 * Base class of every error ARPO.ts throws.
 *
 * Use `ArpoError.isInstance(error)` (or the subclass's own `isInstance`) instead of `instanceof`: the check
 * goes through a `Symbol.for` marker, so it keeps working when two copies of `@arpo/core` are installed.
 */
export class ArpoError extends Error {
  private readonly [symbol] = true;

  readonly code: string;
  readonly isRetryable: boolean;

  constructor(options: ArpoErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = options.name;
    this.code = options.code;
    this.isRetryable = options.isRetryable ?? false;
  }

  static isInstance(error: unknown): error is ArpoError {
    return ArpoError.hasMarker(error, marker);
  }

  /** For subclasses: true when `error` carries the marker `Symbol.for(markerName)`. */
  protected static hasMarker(error: unknown, markerName: string): boolean {
    const markerSymbol = Symbol.for(markerName);
    return (
      error != null &&
      typeof error === 'object' &&
      markerSymbol in error &&
      (error as Record<symbol, unknown>)[markerSymbol] === true
    );
  }

  /** A plain JSON-safe description, for logs and for errors that cross a process or HTTP boundary. */
  toJSON(): { name: string; code: string; message: string; isRetryable: boolean } {
    return { name: this.name, code: this.code, message: this.message, isRetryable: this.isRetryable };
  }
}
