import { ArpoError } from '@arpo/core';

const name = 'ArpoSafetensorsFormatError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** A file is not valid safetensors, or holds a tensor this package cannot read. */
export class SafetensorsFormatError extends ArpoError {
  private readonly [symbol] = true;

  readonly path: string;

  constructor(options: { path: string; detail: string; cause?: unknown }) {
    super({
      name,
      code: 'safetensors-format',
      message: `${options.path}: ${options.detail}`,
      cause: options.cause,
    });
    this.path = options.path;
  }

  static override isInstance(error: unknown): error is SafetensorsFormatError {
    return ArpoError.hasMarker(error, marker);
  }
}
