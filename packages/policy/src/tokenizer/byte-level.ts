/**
 * GPT-2's reversible byte ↔ printable-character map used by byte-level BPE (and by Hugging Face's `ByteLevel`
 * pre-tokenizer and decoder): printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
 */
export const byteToCharacter: readonly string[] = (() => {
  const printable: number[] = [];
  for (let byte = 0x21; byte <= 0x7e; byte++) printable.push(byte);
  for (let byte = 0xa1; byte <= 0xac; byte++) printable.push(byte);
  for (let byte = 0xae; byte <= 0xff; byte++) printable.push(byte);
  const characters = new Array<string>(256);
  let next = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (printable.includes(byte)) characters[byte] = String.fromCharCode(byte);
    else characters[byte] = String.fromCharCode(256 + next++);
  }
  return characters;
})();

/** Inverse of `byteToCharacter`. */
export const characterToByte: ReadonlyMap<string, number> = new Map(
  byteToCharacter.map((character, byte) => [character, byte]),
);

/**
 * The GPT-2 pre-tokenizer pattern, exactly as `@huggingface/tokenizers`' `ByteLevel` pre-tokenizer uses it
 * (`use_regex: true`): contractions, letters, numbers, other symbols (each with one optional leading space), and
 * whitespace runs that leave the last space to the next word.
 */
const preTokenizePattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Splits text into pre-tokens (words) the way the byte-level pre-tokenizer does. */
export function preTokenize(text: string): string[] {
  return text.match(preTokenizePattern) ?? [];
}
