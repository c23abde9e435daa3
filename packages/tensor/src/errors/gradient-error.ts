import { ArpoError } from '@arpo/core';

const name = 'ArpoGradientError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** `grad` cannot differentiate the graph: no rule for an op input, a non-scalar loss, a foreign tensor. */
export class GradientError extends ArpoError {
  private readonly [symbol] = true;

  readonly op: string;

  constructor(options: { op: string; detail: string; cause?: unknown }) {
    super({
      name,
      code: 'gradient-undefined',
      message: `${options.op}: ${options.detail}`,
      cause: options.cause,
    });
    this.op = options.op;
  }

  static override isInstance(error: unknown): error is GradientError {
    return ArpoError.hasMarker(error, marker);
  }
}
