import { ArpoError } from '@arpo/core';

const name = 'ArpoRemotePolicyError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * An OpenAI-compatible endpoint answered with an error status, could not be reached, or sent a response this
 * client cannot use. Retryable for 408, 429, 5xx, connection failures and timeouts (after `RemotePolicy`'s own
 * retries ran out, a later call may still succeed).
 */
export class RemotePolicyError extends ArpoError {
  private readonly [symbol] = true;

  /** The endpoint's base URL. */
  readonly endpoint: string;
  /** HTTP status; undefined when no response arrived. */
  readonly status: number | undefined;

  constructor(options: {
    endpoint: string;
    status?: number;
    message: string;
    isRetryable: boolean;
    cause?: unknown;
  }) {
    const where =
      options.status === undefined ? options.endpoint : `${options.endpoint} (HTTP ${options.status})`;
    super({
      name,
      code: 'remote-policy-failed',
      message: `${where}: ${options.message}`,
      cause: options.cause,
      isRetryable: options.isRetryable,
    });
    this.endpoint = options.endpoint;
    this.status = options.status;
  }

  static override isInstance(error: unknown): error is RemotePolicyError {
    return ArpoError.hasMarker(error, marker);
  }
}
