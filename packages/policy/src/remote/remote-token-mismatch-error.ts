import { ArpoError } from '@arpo/core';

const name = 'ArpoRemoteTokenMismatchError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * The server sent no token ids (`return_tokens_as_token_ids` unsupported) and re-tokenising its text with the
 * local tokenizer did not give back the same tokens: the local tokenizer is not the server's, or the text is
 * ambiguous. Training on such tokens would silently mismatch the logprobs, so the call fails instead.
 */
export class RemoteTokenMismatchError extends ArpoError {
  private readonly [symbol] = true;

  constructor(options: { endpoint: string; choice: number; message: string }) {
    super({
      name,
      code: 'remote-token-mismatch',
      message: `${options.endpoint}, choice ${options.choice}: ${options.message}`,
    });
  }

  static override isInstance(error: unknown): error is RemoteTokenMismatchError {
    return ArpoError.hasMarker(error, marker);
  }
}
