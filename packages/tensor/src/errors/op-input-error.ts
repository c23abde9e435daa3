import { ArpoError } from '@arpo/core';
import { formatShape, type Shape } from '../graph/shape.js';

const name = 'ArpoOpInputError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * An op was applied with an input it cannot use while the graph is built: a required input is missing, or an
 * input that must be a build-time constant (reduce axes, for example) is computed at run time.
 */
export class OpInputError extends ArpoError {
  private readonly [symbol] = true;

  readonly op: string;
  /** Position of the offending input in ONNX order. */
  readonly input: number;
  /** Shapes of the inputs that were given (omitted optional inputs left out). */
  readonly shapes: readonly Shape[];

  constructor(options: {
    op: string;
    input: number;
    detail: string;
    shapes: readonly Shape[];
    cause?: unknown;
  }) {
    super({
      name,
      code: 'op-input-invalid',
      message: `${options.op}: input ${options.input} ${options.detail} (shapes ${options.shapes.map(formatShape).join(', ')})`,
      cause: options.cause,
    });
    this.op = options.op;
    this.input = options.input;
    this.shapes = options.shapes;
  }

  static override isInstance(error: unknown): error is OpInputError {
    return ArpoError.hasMarker(error, marker);
  }
}
