import type { ChatMessage, SpecialTokens, Tokenizer } from '@arpo/core';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { checkModelFolder, hasFile, readJsonFile } from '../transformers/model-folder.js';
import { ModelFolderError } from '../transformers/model-folder-error.js';
import { defaultChatTemplate } from './chat-template.js';
import { specialTokenId, specialTokenNames } from './special-tokens.js';
import { UnknownSpecialTokenError } from './unknown-special-token-error.js';

export interface HuggingFaceTokenizerOptions {
  /**
   * Override or supply the texts of the role tokens (for tokenizers whose config lacks them). Each must be a
   * token of the vocabulary, else `UnknownSpecialTokenError`.
   */
  roles?: { bos?: string; eos?: string; pad?: string };
}

/**
 * A `Tokenizer` backed by any Hugging Face `tokenizer.json`, run by `@huggingface/transformers` (its
 * `@huggingface/tokenizers` engine). Models trained here and imported HF models go through this one path.
 *
 * - `encode` adds the post-processor's special tokens (BOS, ...) only with `addSpecialTokens: true`.
 * - `decode` with `skipSpecialTokens` drops tokens flagged `special` (BOS/EOS/PAD); tool tags saved as
 *   non-special added tokens stay in the text.
 * - `applyChatTemplate` renders the folder's `chat_template` through the library's Jinja engine; without one it
 *   renders `defaultChatTemplate`.
 * - `specialTokens.extra` maps the text of every other added token (tool tags, chat markers) to its id.
 */
export class HuggingFaceTokenizer implements Tokenizer {
  readonly vocabularySize: number;
  readonly specialTokens: SpecialTokens;
  /** The wrapped `@huggingface/transformers` tokenizer. */
  readonly tokenizer: PreTrainedTokenizer;
  readonly hasChatTemplate: boolean;
  private readonly cleanUpSpaces: boolean | null;

  constructor(tokenizer: PreTrainedTokenizer, options: HuggingFaceTokenizerOptions = {}) {
    this.tokenizer = tokenizer;
    const vocabulary = tokenizer.get_vocab() as Map<string, number>;
    let maximumId = -1;
    for (const id of vocabulary.values()) if (id > maximumId) maximumId = id;
    this.vocabularySize = maximumId + 1;
    const config = (tokenizer.config ?? {}) as Record<string, unknown>;
    this.hasChatTemplate = config.chat_template != null;
    this.cleanUpSpaces =
      typeof config.clean_up_tokenization_spaces === 'boolean' ? config.clean_up_tokenization_spaces : null;

    const idOf = (role: string, text: string | null | undefined): number | undefined => {
      if (text == null) return undefined;
      const id = vocabulary.get(text);
      if (id === undefined) {
        throw new UnknownSpecialTokenError({
          token: text,
          knownTokens: [...(tokenizer.all_special_tokens as string[])],
          where: `the tokenizer vocabulary (as ${role})`,
        });
      }
      return id;
    };
    const configToken = (key: string): string | undefined => {
      const value = config[key];
      if (typeof value === 'string') return value;
      if (
        value !== null &&
        typeof value === 'object' &&
        typeof (value as { content?: unknown }).content === 'string'
      ) {
        return (value as { content: string }).content;
      }
      return undefined;
    };
    const eosText = options.roles?.eos ?? configToken('eos_token');
    const eos = idOf('eos', eosText);
    if (eos === undefined) {
      throw new UnknownSpecialTokenError({
        token: 'eos',
        knownTokens: [...(tokenizer.all_special_tokens as string[])],
        where: 'tokenizer_config.json (no eos_token; pass roles.eos)',
      });
    }
    const bos = idOf('bos', options.roles?.bos ?? configToken('bos_token'));
    const pad = idOf('pad', options.roles?.pad ?? configToken('pad_token'));
    const roleIds = new Set([eos, bos, pad]);
    const extra: Record<string, number> = {};
    for (const [id, token] of tokenizer._tokenizer.get_added_tokens_decoder() as Map<
      number,
      { content: string }
    >) {
      if (!roleIds.has(id)) extra[token.content] = id;
    }
    this.specialTokens = {
      eos,
      ...(bos === undefined ? {} : { bos }),
      ...(pad === undefined ? {} : { pad }),
      extra,
    };
  }

  /** Id of a special token by role (`bos`, `eos`, `pad`) or text; `UnknownSpecialTokenError` otherwise. */
  tokenId(name: string): number {
    return specialTokenId(this.specialTokens, name);
  }

  /** Names `tokenId` accepts. */
  tokenNames(): string[] {
    return specialTokenNames(this.specialTokens);
  }

  encode(text: string, options?: { addSpecialTokens?: boolean }): Int32Array {
    return Int32Array.from(
      this.tokenizer.encode(text, { add_special_tokens: options?.addSpecialTokens === true }),
    );
  }

  decode(tokenIds: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string {
    if (tokenIds.length === 0) return '';
    return this.tokenizer.decode(Array.from(tokenIds), {
      skip_special_tokens: options?.skipSpecialTokens === true,
      ...(this.cleanUpSpaces === null ? {} : { clean_up_tokenization_spaces: this.cleanUpSpaces }),
    });
  }

  applyChatTemplate(
    messages: readonly ChatMessage[],
    options?: { addGenerationPrompt?: boolean },
  ): Int32Array {
    const ids = this.tokenizer.apply_chat_template(
      messages.map((message) => ({ role: message.role, content: message.content })),
      {
        ...(this.hasChatTemplate ? {} : { chat_template: defaultChatTemplate }),
        add_generation_prompt: options?.addGenerationPrompt !== false,
        tokenize: true,
        return_tensor: false,
        return_dict: false,
      },
    ) as unknown as number[];
    return Int32Array.from(ids);
  }

  /** Renders the chat template to text without tokenizing (for logs and tests). */
  renderChatTemplate(messages: readonly ChatMessage[], options?: { addGenerationPrompt?: boolean }): string {
    return this.tokenizer.apply_chat_template(
      messages.map((message) => ({ role: message.role, content: message.content })),
      {
        ...(this.hasChatTemplate ? {} : { chat_template: defaultChatTemplate }),
        add_generation_prompt: options?.addGenerationPrompt !== false,
        tokenize: false,
      },
    ) as string;
  }
}

/**
 * Loads `tokenizer.json` (+ `tokenizer_config.json` when present) from a local folder through
 * `@huggingface/transformers` with `local_files_only`, so nothing is ever downloaded. Missing folder or files and
 * malformed JSON throw `ModelFolderError` naming the file.
 */
export async function loadHuggingFaceTokenizer(
  folder: string,
  options: HuggingFaceTokenizerOptions = {},
): Promise<HuggingFaceTokenizer> {
  const absolute = await checkModelFolder(folder);
  const tokenizerJson = (await readJsonFile(absolute, 'tokenizer.json', { required: true })) as Record<
    string,
    unknown
  >;
  const tokenizerConfig = await readJsonFile(absolute, 'tokenizer_config.json', { required: false });
  if (typeof tokenizerJson.model !== 'object' || tokenizerJson.model === null) {
    throw new ModelFolderError({
      folder: absolute,
      file: 'tokenizer.json',
      problem: 'malformed-file',
      message: "no 'model' object (not a Hugging Face tokenizer.json)",
    });
  }
  const transformers = await import('@huggingface/transformers');
  let tokenizer: PreTrainedTokenizer;
  try {
    tokenizer =
      tokenizerConfig === undefined || !(await hasFile(absolute, 'tokenizer_config.json'))
        ? new transformers.PreTrainedTokenizer(tokenizerJson, {})
        : await transformers.AutoTokenizer.from_pretrained(absolute, { local_files_only: true });
  } catch (cause) {
    throw new ModelFolderError({
      folder: absolute,
      file: 'tokenizer.json',
      problem: 'malformed-file',
      message: `@huggingface/transformers cannot load it (${cause instanceof Error ? cause.message : String(cause)})`,
      cause,
    });
  }
  return new HuggingFaceTokenizer(tokenizer, options);
}

/** Builds the same tokenizer from in-memory `tokenizer.json` / `tokenizer_config.json` objects. */
export async function createHuggingFaceTokenizer(
  files: { tokenizerJson: Record<string, unknown>; tokenizerConfig?: Record<string, unknown> },
  options: HuggingFaceTokenizerOptions = {},
): Promise<HuggingFaceTokenizer> {
  const transformers = await import('@huggingface/transformers');
  return new HuggingFaceTokenizer(
    new transformers.PreTrainedTokenizer(files.tokenizerJson, files.tokenizerConfig ?? {}),
    options,
  );
}
