import { ArpoError } from '@arpo/core';

const name = 'ArpoRemoteTrainingError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A Tinker-style training server answered with an error, could not be reached, or sent a result this client
 * cannot use. Retryable for 408, 410 (promise lost), 425, 429, 5xx, connection failures and timeouts: the
 * client's own retries ran out, a later call may still succeed.
 */
export class RemoteTrainingError extends ArpoError {
  private readonly [symbol] = true;

  /** The server's base URL and endpoint, for example `http://127.0.0.1:8000/api/v1/optim_step`. */
  readonly endpoint: string;
  /** HTTP status; undefined when no response arrived. */
  readonly status: number | undefined;
  /** The server's `detail` (or `error`) text, when it sent one. */
  readonly detail: string | undefined;

  constructor(options: {
    endpoint: string;
    status?: number;
    detail?: string;
    message: string;
    isRetryable: boolean;
    cause?: unknown;
  }) {
    const where =
      options.status === undefined ? options.endpoint : `${options.endpoint} (HTTP ${options.status})`;
    super({
      name,
      code: 'remote-training-failed',
      message: `${where}: ${options.message}`,
      cause: options.cause,
      isRetryable: options.isRetryable,
    });
    this.endpoint = options.endpoint;
    this.status = options.status;
    this.detail = options.detail;
  }

  static override isInstance(error: unknown): error is RemoteTrainingError {
    return ArpoError.hasMarker(error, marker);
  }
}
