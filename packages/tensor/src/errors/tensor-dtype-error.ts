import { ArpoError } from '@arpo/core';
import type { DataType } from '../graph/dtype.js';

const name = 'ArpoTensorDtypeError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** An op or a run input received an element type it does not accept. */
export class TensorDtypeError extends ArpoError {
  private readonly [symbol] = true;

  readonly op: string;
  readonly dtypes: readonly DataType[];

  constructor(options: { op: string; detail: string; dtypes: readonly DataType[]; cause?: unknown }) {
    super({
      name,
      code: 'tensor-dtype-mismatch',
      message: `${options.op}: ${options.detail} (dtypes ${options.dtypes.join(', ')})`,
      cause: options.cause,
    });
    this.op = options.op;
    this.dtypes = options.dtypes;
  }

  static override isInstance(error: unknown): error is TensorDtypeError {
    return ArpoError.hasMarker(error, marker);
  }
}
