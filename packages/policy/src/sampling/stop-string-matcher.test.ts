import { createByteTokenizer } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { IncrementalDecoder } from './incremental-decoder.js';
import { StopStringMatcher } from './stop-string-matcher.js';

describe('StopStringMatcher', () => {
  it('finds stop strings spanning pieces and reports which fired', () => {
    const matcher = new StopStringMatcher(['</python>', '</answer>']);
    expect(matcher.push('<python>print(1)</')).toBeUndefined();
    expect(matcher.push('pyth')).toBeUndefined();
    expect(matcher.push('on> trailing')).toEqual({
      stopString: '</python>',
      end: '<python>print(1)</python>'.length,
    });
  });

  it('prefers the stop string that ends first, then the longer one', () => {
    const matcher = new StopStringMatcher(['b', 'abc', 'c']);
    expect(matcher.push('xabc')?.stopString).toBe('b');
    const tie = new StopStringMatcher(['c', 'abc']);
    expect(tie.push('abc')?.stopString).toBe('abc');
  });
});

describe('IncrementalDecoder', () => {
  it('holds back incomplete UTF-8 and yields exactly the decoded text', () => {
    const tokenizer = createByteTokenizer();
    const text = 'héllo 東京 😀!';
    const tokenIds = tokenizer.encode(text);
    const decoder = new IncrementalDecoder((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }));
    const pieces = Array.from(tokenIds, (id) => decoder.push(id));
    expect(pieces.join('')).toBe(text);
    expect(pieces.some((piece) => piece.includes('\uFFFD'))).toBe(false);
    expect(pieces.filter((piece) => piece === '').length).toBeGreaterThan(0);
  });
});
