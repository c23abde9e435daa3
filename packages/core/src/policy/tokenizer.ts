/** Token ids of the special tokens a runtime must handle deliberately. */
export interface SpecialTokens {
  bos?: number;
  eos: number;
  pad?: number;
  /** Further named special tokens (tool tags registered as single tokens, chat markers, ...). */
  extra?: Record<string, number>;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

/** Text ↔ token ids. Implementations: the byte-level BPE of @arpo/policy, Hugging Face tokenizer.json, ... */
export interface Tokenizer {
  readonly vocabularySize: number;
  readonly specialTokens: SpecialTokens;
  /** Encodes plain text; special tokens are added only when `addSpecialTokens` is true. */
  encode(text: string, options?: { addSpecialTokens?: boolean }): Int32Array;
  /** Decodes ids; special tokens are dropped when `skipSpecialTokens` is true. */
  decode(tokenIds: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
  /** Renders chat messages into prompt token ids (the model's chat template), ending with the assistant turn. */
  applyChatTemplate?(
    messages: readonly ChatMessage[],
    options?: { addGenerationPrompt?: boolean },
  ): Int32Array;
}
