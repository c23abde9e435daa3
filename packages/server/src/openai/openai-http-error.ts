import { ArpoError } from '@arpo/core';

const name = 'ArpoOpenAiHttpError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** The OpenAI error body: `{ error: { message, type, param, code } }`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * A request the OpenAI-compatible server answers with an error status: the status, and the OpenAI error shape
 * (`type` such as `invalid_request_error`, the offending `param`, a stable `code`). Retryable for 429 and 503.
 */
export class OpenAiHttpError extends ArpoError {
  private readonly [symbol] = true;

  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly errorCode: string | null;

  constructor(options: {
    status: number;
    message: string;
    type?: string;
    param?: string | null;
    code?: string | null;
    cause?: unknown;
  }) {
    super({
      name,
      code: 'openai-http-error',
      message: options.message,
      cause: options.cause,
      isRetryable: options.status === 429 || options.status === 503,
    });
    this.status = options.status;
    this.type =
      options.type ??
      (options.status >= 500
        ? 'server_error'
        : options.status === 429
          ? 'rate_limit_error'
          : 'invalid_request_error');
    this.param = options.param ?? null;
    this.errorCode = options.code ?? null;
  }

  body(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.errorCode } };
  }

  static override isInstance(error: unknown): error is OpenAiHttpError {
    return ArpoError.hasMarker(error, marker);
  }
}

/** A 400 naming the parameter. */
export function invalidParameter(
  param: string,
  message: string,
  code = 'invalid_parameter',
): OpenAiHttpError {
  return new OpenAiHttpError({ status: 400, message: `${param}: ${message}`, param, code });
}
