import { ArpoError } from '@arpo/core';

const name = 'ArpoTrainingApiError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A request to the training API server that is answered with an HTTP error: `status` and a FastAPI-style
 * `detail` (a string, or a list of field errors for 422), as SkyRL's server sends them.
 */
export class TrainingApiError extends ArpoError {
  private readonly [symbol] = true;

  readonly status: number;
  readonly detail: string | readonly { type: string; loc: (string | number)[]; msg: string }[];

  constructor(options: {
    status: number;
    detail: string | readonly { type: string; loc: (string | number)[]; msg: string }[];
    cause?: unknown;
  }) {
    const text =
      typeof options.detail === 'string'
        ? options.detail
        : options.detail.map((issue) => `${issue.loc.join('.')}: ${issue.msg}`).join('; ');
    super({
      name,
      code: 'training-api-request-failed',
      message: `HTTP ${options.status}: ${text}`,
      cause: options.cause,
      isRetryable:
        options.status === 408 || options.status === 425 || options.status === 429 || options.status >= 500,
    });
    this.status = options.status;
    this.detail = options.detail;
  }

  static override isInstance(error: unknown): error is TrainingApiError {
    return ArpoError.hasMarker(error, marker);
  }
}
