import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ChatMessage,
  InvalidArgumentError,
  type SpecialTokens,
  type Tokenizer,
  ValidationError,
} from '@arpo/core';
import { byteToCharacter, characterToByte, preTokenize } from './byte-level.js';
import { defaultChatTemplate, renderDefaultChatTemplate } from './chat-template.js';
import { specialTokenId } from './special-tokens.js';

/** A token that bypasses BPE: matched verbatim in text before pre-tokenization. */
export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens are dropped by `decode(..., { skipSpecialTokens: true })`; tool tags are not special. */
  special: boolean;
}

export interface ByteLevelBpeDefinition {
  /** Token text (byte-level alphabet) by id; added tokens included. */
  vocabulary: readonly string[];
  /** Merge rules in priority order: `[left, right]` token texts. */
  merges: readonly (readonly [string, string])[];
  addedTokens: readonly AddedToken[];
  /** Which added tokens play the BOS / EOS / PAD roles (token texts). */
  roles: { bos?: string; eos: string; pad?: string };
  /** Prepend BOS when `addSpecialTokens` is true. Default true when there is a BOS. */
  addBosToken?: boolean;
  /** Stored as `model_max_length`. */
  modelMaxLength?: number;
}

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const encoder = new TextEncoder();
const wordCacheLimit = 10_000;

/**
 * A byte-level BPE tokenizer (GPT-2 style): text is split around added tokens, pre-tokenized with the GPT-2
 * pattern, mapped to bytes and merged by rank. It produces exactly the ids `@huggingface/transformers` produces
 * for the `tokenizer.json` that `toTokenizerJson()` writes (tested), so both runtimes share one format.
 */
export class ByteLevelBpeTokenizer implements Tokenizer {
  readonly vocabularySize: number;
  readonly specialTokens: SpecialTokens;
  readonly definition: ByteLevelBpeDefinition;
  private readonly idByToken: Map<string, number>;
  /** (left id, right id) → rank and merged id. */
  private readonly mergeRanks: Map<number, number>;
  private readonly mergeResults: Map<number, number>;
  private readonly byteIds: Int32Array;
  private readonly addedByContent: Map<string, AddedToken>;
  private readonly addedById: Map<number, AddedToken>;
  private readonly addedFirstCharacters: Set<string>;
  private readonly wordCache = new Map<string, number[]>();

  constructor(definition: ByteLevelBpeDefinition) {
    this.definition = definition;
    const vocabulary = definition.vocabulary;
    this.vocabularySize = vocabulary.length;
    this.idByToken = new Map();
    vocabulary.forEach((token, id) => {
      if (!this.idByToken.has(token)) this.idByToken.set(token, id);
    });
    this.byteIds = new Int32Array(256);
    for (let byte = 0; byte < 256; byte++) {
      const id = this.idByToken.get(byteToCharacter[byte] as string);
      if (id === undefined) {
        throw new ValidationError({
          subject: 'byte-level BPE vocabulary',
          issues: [{ path: ['vocabulary'], message: `byte ${byte} has no token` }],
        });
      }
      this.byteIds[byte] = id;
    }
    this.mergeRanks = new Map();
    this.mergeResults = new Map();
    definition.merges.forEach(([left, right], rank) => {
      const leftId = this.idByToken.get(left);
      const rightId = this.idByToken.get(right);
      const mergedId = this.idByToken.get(left + right);
      if (leftId === undefined || rightId === undefined || mergedId === undefined) {
        throw new ValidationError({
          subject: 'byte-level BPE merges',
          issues: [
            {
              path: ['merges', rank],
              message: `'${left}' + '${right}' uses or makes a token not in the vocabulary`,
            },
          ],
        });
      }
      const key = pairKey(leftId, rightId);
      if (!this.mergeRanks.has(key)) {
        this.mergeRanks.set(key, rank);
        this.mergeResults.set(key, mergedId);
      }
    });
    this.addedByContent = new Map(definition.addedTokens.map((token) => [token.content, token]));
    this.addedById = new Map(definition.addedTokens.map((token) => [token.id, token]));
    this.addedFirstCharacters = new Set(definition.addedTokens.map((token) => token.content[0] as string));
    const roleId = (role: 'bos' | 'eos' | 'pad'): number | undefined => {
      const content = definition.roles[role];
      if (content === undefined) return undefined;
      const token = this.addedByContent.get(content);
      if (token === undefined) {
        throw new ValidationError({
          subject: 'byte-level BPE tokenizer',
          issues: [{ path: ['roles', role], message: `'${content}' is not an added token` }],
        });
      }
      return token.id;
    };
    const extra: Record<string, number> = {};
    const roleContents = new Set(Object.values(definition.roles));
    for (const token of definition.addedTokens)
      if (!roleContents.has(token.content)) extra[token.content] = token.id;
    this.specialTokens = {
      eos: roleId('eos') as number,
      ...(roleId('bos') === undefined ? {} : { bos: roleId('bos') as number }),
      ...(roleId('pad') === undefined ? {} : { pad: roleId('pad') as number }),
      extra,
    };
  }

  /** Id of a special token by role (`bos`, `eos`, `pad`) or text (`</python>`); `UnknownSpecialTokenError` else. */
  tokenId(name: string): number {
    return specialTokenId(this.specialTokens, name);
  }

  encode(text: string, options?: { addSpecialTokens?: boolean }): Int32Array {
    const ids: number[] = [];
    const addBos = options?.addSpecialTokens === true && this.addsBos();
    if (addBos) ids.push(this.specialTokens.bos as number);
    let sectionStart = 0;
    let index = 0;
    while (index < text.length) {
      const added = this.addedFirstCharacters.has(text[index] as string)
        ? this.matchAdded(text, index)
        : undefined;
      if (added === undefined) {
        index++;
        continue;
      }
      if (index > sectionStart) this.encodeSection(text.slice(sectionStart, index), ids);
      ids.push(added.id);
      index += added.content.length;
      sectionStart = index;
    }
    if (sectionStart < text.length) this.encodeSection(text.slice(sectionStart), ids);
    return Int32Array.from(ids);
  }

  decode(tokenIds: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string {
    const skip = options?.skipSpecialTokens === true;
    let text = '';
    let bytes: number[] = [];
    for (let index = 0; index < tokenIds.length; index++) {
      const id = tokenIds[index] as number;
      const added = this.addedById.get(id);
      if (added !== undefined) {
        if (bytes.length > 0) {
          text += decoder.decode(Uint8Array.from(bytes));
          bytes = [];
        }
        if (!(skip && added.special)) text += added.content;
        continue;
      }
      const token = this.definition.vocabulary[id];
      if (token === undefined || !Number.isInteger(id)) {
        throw new InvalidArgumentError({
          argument: 'tokenIds',
          message: `token ${index} is ${id}, outside the vocabulary of ${this.vocabularySize}`,
        });
      }
      for (const character of token) bytes.push(characterToByte.get(character) ?? 0x3f);
    }
    if (bytes.length > 0) text += decoder.decode(Uint8Array.from(bytes));
    return text;
  }

  /** Renders `defaultChatTemplate` (see its doc) and encodes it; the generation prompt is added by default. */
  applyChatTemplate(
    messages: readonly ChatMessage[],
    options?: { addGenerationPrompt?: boolean },
  ): Int32Array {
    const text = renderDefaultChatTemplate(messages, {
      bosToken: this.definition.roles.bos,
      eosToken: this.definition.roles.eos,
      addGenerationPrompt: options?.addGenerationPrompt !== false,
    });
    return this.encode(text);
  }

  /** The Hugging Face `tokenizer.json` object (BPE model, ByteLevel pre-tokenizer and decoder, added tokens). */
  toTokenizerJson(): Record<string, unknown> {
    const { definition } = this;
    const vocab: Record<string, number> = {};
    definition.vocabulary.forEach((token, id) => {
      if (!(token in vocab)) vocab[token] = id;
    });
    const bos = definition.roles.bos;
    const postProcessor =
      bos !== undefined && this.addsBos()
        ? {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [
              { SpecialToken: { id: bos, type_id: 0 } },
              { Sequence: { id: 'A', type_id: 0 } },
              { Sequence: { id: 'B', type_id: 1 } },
            ],
            special_tokens: { [bos]: { id: bos, ids: [this.specialTokens.bos], tokens: [bos] } },
          }
        : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: definition.addedTokens.map((token) => ({
        id: token.id,
        content: token.content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: token.special,
      })),
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: postProcessor,
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: definition.merges.map(([left, right]) => [left, right]),
      },
    };
  }

  /** The matching `tokenizer_config.json` (roles, default chat template, no clean-up of spaces on decode). */
  toTokenizerConfig(): Record<string, unknown> {
    const { roles } = this.definition;
    const config: Record<string, unknown> = {
      tokenizer_class: 'PreTrainedTokenizerFast',
      clean_up_tokenization_spaces: false,
      add_bos_token: this.addsBos(),
      add_eos_token: false,
      eos_token: roles.eos,
      chat_template: defaultChatTemplate,
      model_max_length: this.definition.modelMaxLength ?? 1_000_000_000,
      added_tokens_decoder: Object.fromEntries(
        this.definition.addedTokens.map((token) => [
          String(token.id),
          {
            content: token.content,
            lstrip: false,
            normalized: false,
            rstrip: false,
            single_word: false,
            special: token.special,
          },
        ]),
      ),
    };
    if (roles.bos !== undefined) config.bos_token = roles.bos;
    if (roles.pad !== undefined) config.pad_token = roles.pad;
    return config;
  }

  /** Writes `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json` into `folder`. */
  async save(folder: string): Promise<void> {
    await mkdir(folder, { recursive: true });
    const { roles } = this.definition;
    const specialTokensMap: Record<string, string> = { eos_token: roles.eos };
    if (roles.bos !== undefined) specialTokensMap.bos_token = roles.bos;
    if (roles.pad !== undefined) specialTokensMap.pad_token = roles.pad;
    await writeFile(join(folder, 'tokenizer.json'), `${JSON.stringify(this.toTokenizerJson(), null, 1)}\n`);
    await writeFile(
      join(folder, 'tokenizer_config.json'),
      `${JSON.stringify(this.toTokenizerConfig(), null, 2)}\n`,
    );
    await writeFile(
      join(folder, 'special_tokens_map.json'),
      `${JSON.stringify(specialTokensMap, null, 2)}\n`,
    );
  }

  private addsBos(): boolean {
    return this.specialTokens.bos !== undefined && this.definition.addBosToken !== false;
  }

  /** Longest added token starting at `index` (the rule of Hugging Face's added-token splitter). */
  private matchAdded(text: string, index: number): AddedToken | undefined {
    let best: AddedToken | undefined;
    for (const token of this.definition.addedTokens) {
      if (
        (best === undefined || token.content.length > best.content.length) &&
        text.startsWith(token.content, index)
      ) {
        best = token;
      }
    }
    return best;
  }

  private encodeSection(section: string, output: number[]): void {
    for (const word of preTokenize(section)) {
      let ids = this.wordCache.get(word);
      if (ids === undefined) {
        ids = this.mergeWord(word);
        if (this.wordCache.size >= wordCacheLimit) this.wordCache.clear();
        this.wordCache.set(word, ids);
      }
      for (const id of ids) output.push(id);
    }
  }

  /** BPE on one pre-token: repeatedly merge the lowest-ranked adjacent pair, leftmost first. */
  private mergeWord(word: string): number[] {
    const bytes = encoder.encode(word);
    const symbols = Array.from(bytes, (byte) => this.byteIds[byte] as number);
    for (;;) {
      let bestRank = Number.POSITIVE_INFINITY;
      let bestPosition = -1;
      for (let position = 0; position + 1 < symbols.length; position++) {
        const rank = this.mergeRanks.get(
          pairKey(symbols[position] as number, symbols[position + 1] as number),
        );
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestPosition = position;
        }
      }
      if (bestPosition < 0) return symbols;
      const key = pairKey(symbols[bestPosition] as number, symbols[bestPosition + 1] as number);
      symbols.splice(bestPosition, 2, this.mergeResults.get(key) as number);
    }
  }
}

/** Both ids packed in one safe integer (ids < 2^21). */
export function pairKey(left: number, right: number): number {
  return left * 2_097_152 + right;
}
