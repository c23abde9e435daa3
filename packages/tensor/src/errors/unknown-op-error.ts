import { ArpoError } from '@arpo/core';

const name = 'ArpoUnknownOpError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** An op type the graph builder has no definition for (so no shape inference and no gradient). */
export class UnknownOpError extends ArpoError {
  private readonly [symbol] = true;

  readonly op: string;

  constructor(options: { op: string; knownOps: readonly string[]; cause?: unknown }) {
    super({
      name,
      code: 'unknown-op',
      message: `Unknown op '${options.op}'. Known: ${options.knownOps.join(', ')}`,
      cause: options.cause,
    });
    this.op = options.op;
  }

  static override isInstance(error: unknown): error is UnknownOpError {
    return ArpoError.hasMarker(error, marker);
  }
}
