import { ArpoError } from './arpo-error.js';

const name = 'ArpoContextLengthError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** A prompt (plus requested tokens, where the runtime requires it) does not fit the model's context. */
export class ContextLengthError extends ArpoError {
  private readonly [symbol] = true;

  readonly promptTokens: number;
  readonly contextLength: number;

  constructor(options: { promptTokens: number; contextLength: number; cause?: unknown }) {
    super({
      name,
      code: 'context-length-exceeded',
      message: `Prompt of ${options.promptTokens} tokens does not fit the context of ${options.contextLength} tokens`,
      cause: options.cause,
    });
    this.promptTokens = options.promptTokens;
    this.contextLength = options.contextLength;
  }

  static override isInstance(error: unknown): error is ContextLengthError {
    return ArpoError.hasMarker(error, marker);
  }
}
