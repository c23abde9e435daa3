import { ArpoError } from '@arpo/core';
import { formatShape, type Shape } from '../graph/shape.js';

const name = 'ArpoTensorShapeError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** Shapes that cannot work together: caught when the graph is built, or when a run is fed the wrong shape. */
export class TensorShapeError extends ArpoError {
  private readonly [symbol] = true;

  /** The op (or `input 'name'`) that rejected the shapes. */
  readonly op: string;
  readonly shapes: readonly Shape[];

  constructor(options: { op: string; detail: string; shapes: readonly Shape[]; cause?: unknown }) {
    super({
      name,
      code: 'tensor-shape-mismatch',
      message: `${options.op}: ${options.detail} (shapes ${options.shapes.map(formatShape).join(', ')})`,
      cause: options.cause,
    });
    this.op = options.op;
    this.shapes = options.shapes;
  }

  static override isInstance(error: unknown): error is TensorShapeError {
    return ArpoError.hasMarker(error, marker);
  }
}
