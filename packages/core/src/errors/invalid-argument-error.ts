import { ArpoError } from './arpo-error.js';

const name = 'ArpoInvalidArgumentError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** A function was called with an argument that cannot work (mismatched lengths, empty group, NaN, ...). */
export class InvalidArgumentError extends ArpoError {
  private readonly [symbol] = true;

  readonly argument: string;

  constructor(options: { argument: string; message: string; cause?: unknown }) {
    super({
      name,
      code: 'invalid-argument',
      message: `Invalid argument '${options.argument}': ${options.message}`,
      cause: options.cause,
    });
    this.argument = options.argument;
  }

  static override isInstance(error: unknown): error is InvalidArgumentError {
    return ArpoError.hasMarker(error, marker);
  }
}
