import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRandom } from '@arpo/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHuggingFaceTokenizer,
  type HuggingFaceTokenizer,
  loadHuggingFaceTokenizer,
  ModelFolderError,
  renderDefaultChatTemplate,
  toolTags,
  UnknownSpecialTokenError,
} from '../src/index.js';
import { trainFixtureTokenizer } from './fixtures/tiny-model-folder.js';

const tokenizer = trainFixtureTokenizer();
let folder: string;
let huggingFace: HuggingFaceTokenizer;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'arpo-tokenizer-'));
  await tokenizer.save(folder);
  huggingFace = await loadHuggingFaceTokenizer(folder);
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Fixed strings covering the tricky cases, plus seeded random strings over a mixed alphabet. */
function testStrings(): string[] {
  const fixed = [
    'The agent computes the sum of 12 and 30.',
    '<think>plan</think>\n<python>print(3)</python>\n<result>3</result>\n<answer>3</answer>',
    '<search>capital of France</search><result>Paris</result>',
    '   ',
    ' a  b   c    d\t\te\n\n\nf \n g',
    'trailing spaces   ',
    'café naïve 東京 😀 🇫🇷 ∑ x² Ω',
    "it's we're they've I'm you'll he'd 'quoted'",
    '12345678901234567890 3.14159 -7',
    '<python <python> <</python>> </pyth on>',
    '<|bos|>inline specials<|eos|><|pad|>',
    'ǚǚǚ aaaa aaaaa',
    '',
  ];
  const alphabet = [
    ...Array.from('ab xyz\n\t<>/|_.,!?0123456789éü東京😀'),
    '<python>',
    '</think>',
    'the ',
    ' agent',
  ];
  const random = createRandom({ seed: 42 });
  const generated = Array.from({ length: 200 }, () =>
    Array.from({ length: 1 + random.integer(40) }, () => alphabet[random.integer(alphabet.length)]).join(''),
  );
  return [...fixed, ...generated];
}

describe('HF tokenizer.json export', () => {
  it('is encoded identically by @huggingface/transformers and our encoder', () => {
    for (const text of testStrings()) {
      for (const addSpecialTokens of [false, true]) {
        expect(Array.from(huggingFace.encode(text, { addSpecialTokens })), JSON.stringify(text)).toEqual(
          Array.from(tokenizer.encode(text, { addSpecialTokens })),
        );
      }
    }
  });

  it('decodes identically, with and without special tokens', () => {
    for (const text of testStrings()) {
      const ids = tokenizer.encode(text, { addSpecialTokens: true });
      for (const skipSpecialTokens of [false, true]) {
        expect(huggingFace.decode(ids, { skipSpecialTokens })).toBe(
          tokenizer.decode(ids, { skipSpecialTokens }),
        );
      }
      if (!/<\|(bos|eos|pad)\|>/.test(text))
        expect(huggingFace.decode(ids, { skipSpecialTokens: true })).toBe(text);
    }
  });

  it('exposes the same special tokens, tool tags as single non-special tokens', () => {
    expect(huggingFace.specialTokens).toEqual(tokenizer.specialTokens);
    expect(huggingFace.vocabularySize).toBe(tokenizer.vocabularySize);
    for (const tag of toolTags)
      expect(Array.from(huggingFace.encode(tag))).toEqual([huggingFace.tokenId(tag)]);
    expect(() => huggingFace.tokenId('<tool_call>')).toThrow(UnknownSpecialTokenError);
  });

  it('applies the saved chat template through the library, equal to our renderer', () => {
    const messages = [
      { role: 'system' as const, content: 'You can call <python>.' },
      { role: 'user' as const, content: 'What is 2+2?' },
    ];
    const text = renderDefaultChatTemplate(messages, {
      bosToken: '<|bos|>',
      eosToken: '<|eos|>',
      addGenerationPrompt: true,
    });
    expect(huggingFace.renderChatTemplate(messages)).toBe(text);
    expect(text).toBe(
      '<|bos|><|system|>\nYou can call <python>.<|eos|>\n<|user|>\nWhat is 2+2?<|eos|>\n<|assistant|>\n',
    );
    expect(Array.from(huggingFace.applyChatTemplate(messages))).toEqual(
      Array.from(tokenizer.applyChatTemplate(messages)),
    );
    expect(
      huggingFace.renderChatTemplate(messages, { addGenerationPrompt: false }).endsWith('<|assistant|>\n'),
    ).toBe(false);
  });

  it('builds the same tokenizer from in-memory JSON', async () => {
    const fromObjects = await createHuggingFaceTokenizer({
      tokenizerJson: tokenizer.toTokenizerJson(),
      tokenizerConfig: tokenizer.toTokenizerConfig(),
    });
    expect(Array.from(fromObjects.encode('the agent <python>x</python>'))).toEqual(
      Array.from(tokenizer.encode('the agent <python>x</python>')),
    );
  });
});

describe('loadHuggingFaceTokenizer errors', () => {
  it('names a missing folder, a missing tokenizer.json and malformed JSON', async () => {
    await expect(loadHuggingFaceTokenizer(join(folder, 'nope'))).rejects.toSatisfy(
      (error: unknown) => ModelFolderError.isInstance(error) && error.problem === 'missing-folder',
    );
    const empty = await mkdtemp(join(tmpdir(), 'arpo-tokenizer-empty-'));
    try {
      await expect(loadHuggingFaceTokenizer(empty)).rejects.toSatisfy(
        (error: unknown) =>
          ModelFolderError.isInstance(error) &&
          error.problem === 'missing-file' &&
          error.file === 'tokenizer.json',
      );
      await writeFile(join(empty, 'tokenizer.json'), '{"model": ');
      await expect(loadHuggingFaceTokenizer(empty)).rejects.toThrow(/tokenizer\.json: invalid JSON/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('rejects a role token that is not in the vocabulary', async () => {
    await expect(loadHuggingFaceTokenizer(folder, { roles: { eos: '</s>' } })).rejects.toSatisfy(
      (error: unknown) => UnknownSpecialTokenError.isInstance(error) && error.token === '</s>',
    );
  });
});
