import { ArpoError, type ToolErrorCode } from '@arpo/core';

const name = 'ArpoSearchBackendError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** How a search backend failure shows up as a tool error. */
export type SearchFailureCode = Extract<
  ToolErrorCode,
  'timeout' | 'unavailable' | 'runtime-error' | 'aborted'
>;

/**
 * A search backend could not answer (service down, HTTP error, bad response, timeout). The search tool turns it
 * into a tool error with `toolErrorCode`; it never reaches a rollout as an exception.
 */
export class SearchBackendError extends ArpoError {
  private readonly [symbol] = true;

  readonly backend: string;
  readonly toolErrorCode: SearchFailureCode;
  /** The HTTP status of the last attempt, for HTTP backends. */
  readonly status: number | undefined;

  constructor(options: {
    backend: string;
    toolErrorCode: SearchFailureCode;
    message: string;
    status?: number;
    isRetryable?: boolean;
    cause?: unknown;
  }) {
    super({
      name,
      code: 'search-backend-failed',
      message: `Search backend '${options.backend}': ${options.message}`,
      cause: options.cause,
      isRetryable: options.isRetryable ?? false,
    });
    this.backend = options.backend;
    this.toolErrorCode = options.toolErrorCode;
    this.status = options.status;
  }

  static override isInstance(error: unknown): error is SearchBackendError {
    return ArpoError.hasMarker(error, marker);
  }
}
