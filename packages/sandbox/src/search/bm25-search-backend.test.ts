import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { type CorpusDocument, createBm25SearchBackend } from './bm25-search-backend.js';
import { createSearchTool } from './search-tool.js';

const fixturePath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../test/fixtures/search-corpus.json',
);
const corpus = JSON.parse(readFileSync(fixturePath, 'utf8')) as CorpusDocument[];

describe('createBm25SearchBackend', () => {
  const backend = createBm25SearchBackend({ documents: corpus });

  it.each([
    ['Amy Smart film debut Campfire Tales', 'campfire-tales'],
    ['Cecil Day Lewis pseudonym', 'nicholas-blake'],
    ['molecular formula of ascorbic acid', 'ascorbic-acid'],
    ['What nationality was Yuri Ozerov?', 'yuri-ozerov'],
    ['ranking function term frequency inverse document frequency', 'bm25'],
    ['capital of Russia Kremlin', 'moscow'],
  ])('ranks the relevant document first for %j', (query, expectedId) => {
    const hits = backend.rank(query, 5);
    expect(hits[0]?.id).toBe(expectedId);
    for (let i = 1; i < hits.length; i += 1) {
      expect((hits[i - 1]?.score ?? 0) >= (hits[i]?.score ?? 0)).toBe(true);
    }
  });

  it('scores as plain Okapi BM25 by default', () => {
    // One document, one query term occurring once: idf · (k1 + 1) / (1 + k1), i.e. just the idf.
    const single = createBm25SearchBackend({
      documents: [
        { id: 'a', text: 'zebra' },
        { id: 'b', text: 'horse' },
      ],
    });
    const idf = Math.log(1 + (2 - 1 + 0.5) / (1 + 0.5));
    expect(single.rank('zebra', 1)[0]?.score).toBeCloseTo(idf, 10);
    // Two matched terms sum (MiniSearch's coordination factor removed).
    const pair = createBm25SearchBackend({
      documents: [
        { id: 'a', text: 'zebra horse' },
        { id: 'b', text: 'cat' },
      ],
    });
    const termScore = pair.rank('zebra', 1)[0]?.score ?? Number.NaN;
    expect(pair.rank('zebra horse', 1)[0]?.score).toBeCloseTo(2 * termScore, 10);
    const coordinated = createBm25SearchBackend({
      documents: [
        { id: 'a', text: 'zebra horse' },
        { id: 'b', text: 'cat' },
      ],
      coordination: true,
    });
    expect(coordinated.rank('zebra horse', 1)[0]?.score).toBeCloseTo(4 * termScore, 10);
  });

  it('formats hits through the search tool like the reference tool', async () => {
    const tool = createSearchTool({ backend, topK: 2, snippetLength: 40 });
    const result = await tool.execute({ query: 'Cecil Day Lewis poet laureate pseudonym' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const lines = result.output.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`Page 1: ${'Cecil Day-Lewis: Cecil Day-Lewis was an Anglo-Irish'.slice(0, 40)}`);
    expect(lines[1]).toMatch(/^Page 2: Poet Laureate of the United Kingdom: /);
    expect(await tool.execute('qwertyuiop')).toMatchObject({ ok: true, output: 'No search results found.' });
  });

  it('supports stop words, custom snippets and adding documents', () => {
    const small = createBm25SearchBackend({
      documents: [{ id: 1, text: 'the cat sat' }],
      stopWords: ['The'],
      snippet: (document) => `#${document.id}`,
    });
    expect(small.rank('the', 5)).toEqual([]);
    small.add([{ id: 2, title: 'Dogs', text: 'a dog barked' }]);
    expect(small.size).toBe(2);
    expect(small.rank('dogs', 5)).toEqual([
      { id: '2', title: 'Dogs', snippet: '#2', score: expect.any(Number) },
    ]);
  });

  it('refuses malformed and duplicate documents with the offending position, indexing nothing', () => {
    const small = createBm25SearchBackend({ documents: [{ id: 'x', text: 'one' }] });
    expect(() =>
      small.add([
        { id: 'y', text: 'two' },
        { id: 'x', text: 'dup' },
      ]),
    ).toThrow(/documents\[1\]\.id/);
    expect(small.size).toBe(1);
    expect(small.rank('two', 5)).toEqual([]);
    const bad = [{ id: 'z', text: 3 }] as unknown as CorpusDocument[];
    let thrown: unknown;
    try {
      small.add(bad);
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect((thrown as Error).message).toContain('documents[0].text');
    expect(() => createBm25SearchBackend({ documents: [], bm25: { k1: -1 } })).toThrow(/bm25\.k/);
  });
});
