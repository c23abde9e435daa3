import { type ChatMessage, InvalidArgumentError, type SpecialTokens, type Tokenizer } from '@arpo/core';

/** Ids of the byte tokenizer's special tokens; bytes start after them. */
export const byteTokenizerSpecialTokens = { pad: 0, bos: 1, eos: 2 } as const satisfies SpecialTokens;
const byteOffset = 3;

/**
 * A byte-level tokenizer with no merges: token = UTF-8 byte + 3, plus PAD, BOS and EOS. Deterministic and
 * dependency-free, for scripted policies and tests of control logic. Chat template: `<|role|>content\n`.
 */
export function createByteTokenizer(): Tokenizer {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const tokenizer: Tokenizer = {
    vocabularySize: 256 + byteOffset,
    specialTokens: { ...byteTokenizerSpecialTokens },
    encode(text, options) {
      const bytes = encoder.encode(text);
      const prefix = options?.addSpecialTokens === true ? 1 : 0;
      const ids = new Int32Array(bytes.length + prefix);
      if (prefix === 1) ids[0] = byteTokenizerSpecialTokens.bos;
      for (let index = 0; index < bytes.length; index++)
        ids[index + prefix] = (bytes[index] as number) + byteOffset;
      return ids;
    },
    decode(tokenIds, options) {
      const bytes: number[] = [];
      let text = '';
      for (let index = 0; index < tokenIds.length; index++) {
        const id = tokenIds[index] as number;
        if (!Number.isInteger(id) || id < 0 || id >= 256 + byteOffset) {
          throw new InvalidArgumentError({
            argument: 'tokenIds',
            message: `token ${index} is ${id}, out of range`,
          });
        }
        if (id >= byteOffset) {
          bytes.push(id - byteOffset);
          continue;
        }
        text += decoder.decode(Uint8Array.from(bytes));
        bytes.length = 0;
        if (options?.skipSpecialTokens !== true) text += ['<pad>', '<bos>', '<eos>'][id];
      }
      return text + decoder.decode(Uint8Array.from(bytes));
    },
    applyChatTemplate(messages: readonly ChatMessage[], options) {
      let text = messages.map((message) => `<|${message.role}|>${message.content}\n`).join('');
      if (options?.addGenerationPrompt !== false) text += '<|assistant|>';
      return tokenizer.encode(text, { addSpecialTokens: true });
    },
  };
  return tokenizer;
}
