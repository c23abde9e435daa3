import { ArpoError } from '@arpo/core';

const name = 'ArpoMissingInputError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** A compiled graph was run without a value for one of its inputs. */
export class MissingInputError extends ArpoError {
  private readonly [symbol] = true;

  readonly input: string;

  constructor(options: { graph: string; input: string; expected: string; cause?: unknown }) {
    super({
      name,
      code: 'missing-input',
      message: `Graph '${options.graph}': no value for input '${options.input}' (expected ${options.expected})`,
      cause: options.cause,
    });
    this.input = options.input;
  }

  static override isInstance(error: unknown): error is MissingInputError {
    return ArpoError.hasMarker(error, marker);
  }
}
