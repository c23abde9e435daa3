import { ArpoError } from '@arpo/core';

const name = 'ArpoUnknownSpecialTokenError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** A special token was asked for by a name the tokenizer does not have. */
export class UnknownSpecialTokenError extends ArpoError {
  private readonly [symbol] = true;

  readonly token: string;
  readonly knownTokens: readonly string[];

  constructor(options: { token: string; knownTokens: readonly string[]; where?: string; cause?: unknown }) {
    const known = options.knownTokens.length === 0 ? '(none)' : options.knownTokens.join(', ');
    const where = options.where === undefined ? '' : ` in ${options.where}`;
    super({
      name,
      code: 'unknown-special-token',
      message: `Unknown special token '${options.token}'${where}. Known: ${known}`,
      cause: options.cause,
    });
    this.token = options.token;
    this.knownTokens = options.knownTokens;
  }

  static override isInstance(error: unknown): error is UnknownSpecialTokenError {
    return ArpoError.hasMarker(error, marker);
  }
}
