import { InvalidArgumentError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { createCorpus } from '../../test/fixtures/corpus.js';
import { toolTags } from './special-tokens.js';
import { trainByteLevelBpe } from './train-byte-level-bpe.js';
import { UnknownSpecialTokenError } from './unknown-special-token-error.js';

const samples = [
  'The agent computes the sum of 12 and 30.',
  '<think>plan</think><python>print(3)</python>\n<result>3</result><answer>3</answer>',
  '  leading and trailing spaces   ',
  'tabs\tand\nnewlines\r\n\n\nruns',
  'unicode: café naïve 東京 😀 🇫🇷 ∑ x²',
  "contractions: it's we're they've I'm you'll he'd",
  '',
  '<python',
  '</python>x</python></python>',
];

describe('trainByteLevelBpe', () => {
  const tokenizer = trainByteLevelBpe({ corpus: createCorpus(), vocabularySize: 600 });

  it('is deterministic and reaches the requested size', () => {
    const again = trainByteLevelBpe({ corpus: createCorpus(), vocabularySize: 600 });
    expect(again.definition.merges).toEqual(tokenizer.definition.merges);
    expect(tokenizer.vocabularySize).toBe(600);
    expect(tokenizer.definition.merges.length).toBeGreaterThan(300);
  });

  it('round-trips text exactly, including bytes never seen in training', () => {
    for (const text of [...samples, 'ɮ unseen ⛄ bytes \u0000\u0001']) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
  });

  it('compresses text it was trained on', () => {
    const text = 'the agent searches for the capital of France.';
    expect(tokenizer.encode(text).length).toBeLessThan(text.length / 2);
  });

  it('makes each tool tag one non-special token by default, and BOS/EOS/PAD special', () => {
    for (const tag of toolTags) {
      expect(Array.from(tokenizer.encode(tag))).toEqual([tokenizer.tokenId(tag)]);
      expect(tokenizer.decode([tokenizer.tokenId(tag)], { skipSpecialTokens: true })).toBe(tag);
    }
    const { bos, eos, pad } = tokenizer.specialTokens;
    expect([pad, bos, eos]).toEqual([0, 1, 2]);
    expect(tokenizer.encode('hi', { addSpecialTokens: true })[0]).toBe(bos);
    expect(tokenizer.encode('hi')[0]).not.toBe(bos);
    expect(
      tokenizer.decode([bos as number, ...tokenizer.encode('hi'), eos], { skipSpecialTokens: true }),
    ).toBe('hi');
    expect(tokenizer.decode([bos as number, eos])).toBe('<|bos|><|eos|>');
  });

  it('can leave tool tags to BPE', () => {
    const plain = trainByteLevelBpe({ corpus: createCorpus(), vocabularySize: 600, toolTagsAsTokens: false });
    expect(plain.encode('</python>').length).toBeGreaterThan(1);
    expect(plain.decode(plain.encode('<python>1</python>'))).toBe('<python>1</python>');
    expect(() => plain.tokenId('</python>')).toThrow(UnknownSpecialTokenError);
  });

  it('names unknown special tokens and impossible sizes with typed errors', () => {
    expect(() => tokenizer.tokenId('<tool>')).toThrow(
      /Unknown special token '<tool>'.*Known: bos, eos, pad, <think>/,
    );
    expect(UnknownSpecialTokenError.isInstance(captured(() => tokenizer.tokenId('<tool>')))).toBe(true);
    expect(() => trainByteLevelBpe({ corpus: [], vocabularySize: 100 })).toThrow(InvalidArgumentError);
  });

  it('stops early when no pair is frequent enough', () => {
    const small = trainByteLevelBpe({ corpus: ['ab ab ab'], vocabularySize: 10_000 });
    expect(small.vocabularySize).toBeLessThan(300);
  });
});

function captured(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}
