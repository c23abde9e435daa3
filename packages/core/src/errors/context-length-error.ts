import { ArpoError } from './arpo-error.js';

const name = 'ArpoContextLengthError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** A prompt (plus requested tokens, where the runtime requires it) does not fit the model's context. */
export class ContextLengthError extends ArpoError {
  private readonly [symbol] = true;

  readonly promptTokens: number;
  readonly contextLength: number;
  /** Which prompt, for example `requests[2].promptTokenIds`, when the call had several. */
  readonly source: string | undefined;

  constructor(options: { promptTokens: number; contextLength: number; source?: string; cause?: unknown }) {
    const where = options.source === undefined ? '' : ` in ${options.source}`;
    super({
      name,
      code: 'context-length-exceeded',
      message: `Prompt of ${options.promptTokens} tokens${where} does not fit the context of ${options.contextLength} tokens`,
      cause: options.cause,
    });
    this.promptTokens = options.promptTokens;
    this.contextLength = options.contextLength;
    this.source = options.source;
  }

  static override isInstance(error: unknown): error is ContextLengthError {
    return ArpoError.hasMarker(error, marker);
  }
}
