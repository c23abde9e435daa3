import { InvalidArgumentError } from '@arpo/core';
import { byteToCharacter, preTokenize } from './byte-level.js';
import { type AddedToken, ByteLevelBpeTokenizer, pairKey } from './byte-level-bpe-tokenizer.js';
import { defaultControlTokens, toolTags } from './special-tokens.js';

export interface TrainByteLevelBpeOptions {
  /** Training texts. */
  corpus: Iterable<string>;
  /** Final vocabulary size including added tokens and the 256 byte tokens. */
  vocabularySize: number;
  /** Control token texts; `null` drops BOS or PAD. Default `<|bos|>`, `<|eos|>`, `<|pad|>`. */
  controlTokens?: { bos?: string | null; eos?: string; pad?: string | null };
  /**
   * Register the ARPO tool tags (`<think>` … `</answer>`) as single added tokens (not special: they stay in
   * decoded text). Default true: stop strings then match whole tokens and the tags cost one token each.
   */
  toolTagsAsTokens?: boolean;
  /** Further added tokens (non-special), for example chat markers. */
  extraTokens?: readonly string[];
  /** Pairs seen fewer times are never merged. Default 2. */
  minimumFrequency?: number;
  /** Prepend BOS when encoding with `addSpecialTokens`. Default true. */
  addBosToken?: boolean;
  modelMaxLength?: number;
}

interface Word {
  symbols: number[];
  count: number;
}

/**
 * Trains a byte-level BPE deterministically: same corpus and options, same merges. Ids: added tokens first (PAD,
 * BOS, EOS, then tool tags and extra tokens), then the 256 bytes, then merges in the order learnt. Each step
 * merges the most frequent adjacent pair (ties: the smaller pair of ids); added tokens are cut out of the corpus
 * first so they are never learnt as merges.
 */
export function trainByteLevelBpe(options: TrainByteLevelBpeOptions): ByteLevelBpeTokenizer {
  const control = options.controlTokens ?? {};
  const roles = {
    eos: control.eos ?? defaultControlTokens.eos,
    ...(control.bos === null ? {} : { bos: control.bos ?? defaultControlTokens.bos }),
    ...(control.pad === null ? {} : { pad: control.pad ?? defaultControlTokens.pad }),
  };
  const addedContents: { content: string; special: boolean }[] = [];
  const pushAdded = (content: string, special: boolean) => {
    if (content.length === 0)
      throw new InvalidArgumentError({ argument: 'extraTokens', message: 'empty token' });
    if (!addedContents.some((token) => token.content === content)) addedContents.push({ content, special });
  };
  if (roles.pad !== undefined) pushAdded(roles.pad, true);
  if (roles.bos !== undefined) pushAdded(roles.bos, true);
  pushAdded(roles.eos, true);
  if (options.toolTagsAsTokens !== false) for (const tag of toolTags) pushAdded(tag, false);
  for (const token of options.extraTokens ?? []) pushAdded(token, false);
  const addedTokens: AddedToken[] = addedContents.map((token, id) => ({ id, ...token }));

  const minimumSize = addedTokens.length + 256;
  if (!Number.isInteger(options.vocabularySize) || options.vocabularySize < minimumSize) {
    throw new InvalidArgumentError({
      argument: 'vocabularySize',
      message: `must be an integer ≥ ${minimumSize} (added tokens + 256 bytes), got ${options.vocabularySize}`,
    });
  }
  const minimumFrequency = options.minimumFrequency ?? 2;

  const vocabulary: string[] = addedTokens.map((token) => token.content);
  const idByToken = new Map<string, number>();
  for (let byte = 0; byte < 256; byte++) {
    idByToken.set(byteToCharacter[byte] as string, vocabulary.length);
    vocabulary.push(byteToCharacter[byte] as string);
  }
  const addedSet = new Set(addedTokens.map((token) => token.content));

  // Count words (pre-tokens) of the corpus with added tokens cut out, exactly as encoding will see them.
  const wordCounts = new Map<string, number>();
  const textEncoder = new TextEncoder();
  const addedPattern =
    addedTokens.length === 0
      ? undefined
      : new RegExp(
          [...addedTokens]
            .sort((left, right) => right.content.length - left.content.length)
            .map((token) => token.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('|'),
          'g',
        );
  for (const text of options.corpus) {
    const sections = addedPattern === undefined ? [text] : text.split(addedPattern);
    for (const section of sections) {
      for (const word of preTokenize(section)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
  }
  const words: Word[] = [];
  for (const [word, count] of [...wordCounts.entries()].sort((left, right) =>
    left[0] < right[0] ? -1 : 1,
  )) {
    words.push({ symbols: Array.from(textEncoder.encode(word), (byte) => addedTokens.length + byte), count });
  }

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wordIndex: number, sign: 1 | -1, touched: Set<number>) => {
    const word = words[wordIndex] as Word;
    for (let position = 0; position + 1 < word.symbols.length; position++) {
      const key = pairKey(word.symbols[position] as number, word.symbols[position + 1] as number);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * word.count);
      if (sign === 1) {
        let set = pairWords.get(key);
        if (set === undefined) {
          set = new Set();
          pairWords.set(key, set);
        }
        set.add(wordIndex);
      }
      touched.add(key);
    }
  };
  const heap = new PairHeap();
  const initial = new Set<number>();
  for (let index = 0; index < words.length; index++) addPairs(index, 1, initial);
  for (const key of initial) heap.push(pairCounts.get(key) as number, key);

  const merges: [string, string][] = [];
  const forbidden = new Set<number>();
  while (vocabulary.length < options.vocabularySize) {
    let best: { count: number; key: number } | undefined;
    while (heap.size > 0) {
      const top = heap.pop();
      if (top.count !== pairCounts.get(top.key) || forbidden.has(top.key)) continue; // stale entry
      best = top;
      break;
    }
    if (best === undefined || best.count < minimumFrequency) break;
    const left = Math.floor(best.key / 2_097_152);
    const right = best.key - left * 2_097_152;
    const mergedText = (vocabulary[left] as string) + (vocabulary[right] as string);
    if (addedSet.has(mergedText)) {
      forbidden.add(best.key);
      continue;
    }
    let mergedId = idByToken.get(mergedText);
    if (mergedId === undefined) {
      mergedId = vocabulary.length;
      vocabulary.push(mergedText);
      idByToken.set(mergedText, mergedId);
    }
    merges.push([vocabulary[left] as string, vocabulary[right] as string]);
    const touched = new Set<number>();
    const affected = [...(pairWords.get(best.key) ?? [])].sort((a, b) => a - b);
    for (const wordIndex of affected) {
      const word = words[wordIndex] as Word;
      addPairs(wordIndex, -1, touched);
      const next: number[] = [];
      for (let position = 0; position < word.symbols.length; position++) {
        if (
          position + 1 < word.symbols.length &&
          word.symbols[position] === left &&
          word.symbols[position + 1] === right
        ) {
          next.push(mergedId);
          position++;
        } else next.push(word.symbols[position] as number);
      }
      word.symbols = next;
      addPairs(wordIndex, 1, touched);
    }
    pairCounts.delete(best.key);
    for (const key of touched) {
      const count = pairCounts.get(key) ?? 0;
      if (count > 0) heap.push(count, key);
    }
  }

  return new ByteLevelBpeTokenizer({
    vocabulary,
    merges,
    addedTokens,
    roles,
    ...(options.addBosToken === undefined ? {} : { addBosToken: options.addBosToken }),
    ...(options.modelMaxLength === undefined ? {} : { modelMaxLength: options.modelMaxLength }),
  });
}

/** Max-heap of (count, pair key): higher count first, then smaller key (deterministic ties). */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let child = this.counts.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.before(child, parent)) break;
      this.swap(child, parent);
      child = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0] as number, key: this.keys[0] as number };
    const lastCount = this.counts.pop() as number;
    const lastKey = this.keys.pop() as number;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let parent = 0;
      for (;;) {
        const left = 2 * parent + 1;
        const right = left + 1;
        let first = parent;
        if (left < this.counts.length && this.before(left, first)) first = left;
        if (right < this.counts.length && this.before(right, first)) first = right;
        if (first === parent) break;
        this.swap(first, parent);
        parent = first;
      }
    }
    return top;
  }

  private before(a: number, b: number): boolean {
    const countA = this.counts[a] as number;
    const countB = this.counts[b] as number;
    return countA > countB || (countA === countB && (this.keys[a] as number) < (this.keys[b] as number));
  }

  private swap(a: number, b: number): void {
    const count = this.counts[a] as number;
    this.counts[a] = this.counts[b] as number;
    this.counts[b] = count;
    const key = this.keys[a] as number;
    this.keys[a] = this.keys[b] as number;
    this.keys[b] = key;
  }
}
