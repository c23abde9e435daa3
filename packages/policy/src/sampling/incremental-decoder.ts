/**
 * Turns a growing token sequence into text deltas without re-decoding everything (the prefix/read-offset scheme
 * of vLLM and TGI): only the last few tokens are decoded each time, and text ending in an incomplete UTF-8
 * sequence (U+FFFD) is held back until the next token completes it.
 */
export class IncrementalDecoder {
  private readonly decode: (tokenIds: ArrayLike<number>) => string;
  private readonly tokenIds: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(decode: (tokenIds: ArrayLike<number>) => string) {
    this.decode = decode;
  }

  /** Adds one token; returns the text that became final with it (often one token's text, sometimes ''). */
  push(tokenId: number): string {
    this.tokenIds.push(tokenId);
    const prefixText =
      this.readOffset > this.prefixOffset
        ? this.decode(this.tokenIds.slice(this.prefixOffset, this.readOffset))
        : '';
    const fullText = this.decode(this.tokenIds.slice(this.prefixOffset));
    if (fullText.length > prefixText.length && !fullText.endsWith('\uFFFD')) {
      const delta = fullText.slice(prefixText.length);
      this.prefixOffset = this.readOffset;
      this.readOffset = this.tokenIds.length;
      return delta;
    }
    return '';
  }
}
