import { describe, expect, it } from 'vitest';
import { formatSearchResults, noSearchResultsText, truncateCodePoints } from './format-search-results.js';

describe('formatSearchResults', () => {
  it('writes Page i lines joined by newlines, at most topK', () => {
    const hits = ['alpha', 'beta', 'gamma'].map((snippet) => ({ snippet }));
    expect(formatSearchResults(hits)).toBe('Page 1: alpha\nPage 2: beta\nPage 3: gamma');
    expect(formatSearchResults(hits, { topK: 2 })).toBe('Page 1: alpha\nPage 2: beta');
  });

  it('answers the reference no-results text when there are no hits', () => {
    expect(formatSearchResults([])).toBe(noSearchResultsText);
    expect(formatSearchResults([{ snippet: 'x' }], { topK: 0 })).toBe('No search results found.');
  });

  it('caps snippets at 1000 code points by default, like Python slicing', () => {
    const long = 'a'.repeat(1500);
    expect(formatSearchResults([{ snippet: long }])).toBe(`Page 1: ${'a'.repeat(1000)}`);
    expect(formatSearchResults([{ snippet: 'abcdef' }], { snippetLength: 3 })).toBe('Page 1: abc');
  });

  it('never splits a surrogate pair', () => {
    // Five emoji are ten UTF-16 units; Python's s[:3] keeps three whole emoji.
    expect(truncateCodePoints('😀😁😂🤣😃', 3)).toBe('😀😁😂');
    expect(truncateCodePoints('ab😀cd', 3)).toBe('ab😀');
    expect(truncateCodePoints('short', 10)).toBe('short');
    expect(truncateCodePoints('abc', 0)).toBe('');
  });
});
