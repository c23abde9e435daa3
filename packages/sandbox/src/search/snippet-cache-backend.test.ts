import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '@arpo/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBm25SearchBackend } from './bm25-search-backend.js';
import { createSearchTool } from './search-tool.js';
import {
  createSnippetCacheBackend,
  loadSnippetCacheBackend,
  normaliseSearchQuery,
  readSnippetCacheFile,
} from './snippet-cache-backend.js';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const referenceCachePath = path.resolve(
  repositoryRoot,
  '../shared/data/search-cache/bing-snippets-1000.json',
);

describe('snippet cache against the reference ARPO cache (../shared)', () => {
  let reference: Record<string, string>;
  beforeAll(async () => {
    reference = await readSnippetCacheFile(referenceCachePath);
  });

  it('returns the cached text byte for byte for every one of the 1000 queries', async () => {
    const keys = Object.keys(reference);
    expect(keys).toHaveLength(1000);
    const tool = createSearchTool({
      backend: createSnippetCacheBackend({ entries: reference }),
      fallback: { error: 'internal', message: 'a cached query missed' },
    });
    const mismatches: string[] = [];
    for (const key of keys) {
      const result = await tool.execute(key);
      // Compared as UTF-8 bytes: the text the model sees is exactly the reference tool's.
      const same =
        result.ok &&
        result.metadata?.cacheMatch === 'exact' &&
        Buffer.from(result.output, 'utf8').equals(Buffer.from(reference[key] as string, 'utf8'));
      if (!same) mismatches.push(key);
    }
    expect(mismatches).toEqual([]);
    // The { query } form reaches the same entries.
    const first = keys[0] as string;
    expect(await tool.execute({ query: first })).toMatchObject({ ok: true, output: reference[first] });
  });

  it('finds prefixed and re-spaced queries through the documented normalisation', async () => {
    const backend = await loadSnippetCacheBackend(referenceCachePath);
    const prefixed = Object.keys(reference).filter((key) => key.startsWith('search query: '));
    const bare = Object.keys(reference).filter((key) => !key.startsWith('search query: '));
    expect(prefixed.length).toBeGreaterThan(500);
    // Every key normalises to a distinct form, so normalised look-up can never return another query's text.
    expect(new Set(Object.keys(reference).map(normaliseSearchQuery)).size).toBe(1000);
    for (const key of prefixed.slice(0, 200)) {
      const withoutPrefix = key.slice('search query: '.length);
      const found = backend.lookup(`  ${withoutPrefix.toUpperCase()}  `);
      expect(found?.match, key).toBe('normalised');
      expect(found?.text).toBe(reference[key]);
    }
    for (const key of bare.slice(0, 200)) {
      const found = backend.lookup(`Search Query:   ${key.split(' ').join('  ')}`);
      expect(found?.key, key).toBe(key);
    }
  });
});

describe('createSnippetCacheBackend', () => {
  const entries = { 'search query: capital of france': 'Page 1: Paris is the capital of France.' };

  it('prefers the exact key over a normalised one', async () => {
    const backend = createSnippetCacheBackend({
      entries: new Map([
        ['Paris', 'Page 1: exact'],
        ['paris', 'Page 1: lower'],
      ]),
    });
    expect(backend.lookup('paris')).toMatchObject({ text: 'Page 1: lower', match: 'exact' });
    expect(backend.lookup('PARIS ')).toMatchObject({ text: 'Page 1: exact', match: 'normalised' });
  });

  it('can be limited to exact keys or use a custom normalisation', () => {
    expect(
      createSnippetCacheBackend({ entries, normalise: false }).lookup('capital of france'),
    ).toBeUndefined();
    const custom = createSnippetCacheBackend({ entries, normalise: (query) => query.replace(/\W/g, '') });
    expect(custom.lookup('search-query: capital of france')?.match).toBe('normalised');
  });

  it('falls back on a miss: fixed text, an error, or another backend', async () => {
    const cache = createSnippetCacheBackend({ entries });
    const noResults = createSearchTool({ backend: cache });
    expect(await noResults.execute('who wrote hamlet')).toMatchObject({
      ok: true,
      output: 'No search results found.',
      metadata: { source: 'fallback-text' },
    });
    const failing = createSearchTool({
      backend: cache,
      fallback: { error: 'unavailable', message: 'not cached' },
    });
    expect(await failing.execute('who wrote hamlet')).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'not cached' },
    });
    const bm25 = createBm25SearchBackend({
      documents: [
        { id: 1, title: 'Hamlet', text: 'Hamlet is a tragedy written by William Shakespeare.' },
        { id: 2, title: 'Paris', text: 'Paris is the capital of France.' },
      ],
    });
    const chained = createSearchTool({ backend: cache, fallback: bm25 });
    const hit = await chained.execute('who wrote hamlet');
    expect(hit).toMatchObject({ ok: true, metadata: { source: 'fallback', backend: 'bm25' } });
    if (hit.ok)
      expect(hit.output.split('\n')[0]).toBe(
        'Page 1: Hamlet: Hamlet is a tragedy written by William Shakespeare.',
      );
    expect(await chained.execute('capital of France')).toMatchObject({
      ok: true,
      output: 'Page 1: Paris is the capital of France.',
      metadata: { source: 'backend' },
    });
  });

  describe('readSnippetCacheFile', () => {
    let directory: string;
    beforeAll(async () => {
      directory = await mkdtemp(path.join(tmpdir(), 'arpo-snippets-'));
    });
    afterAll(async () => {
      await rm(directory, { recursive: true, force: true });
    });

    it('names the file and the offending key', async () => {
      const file = path.join(directory, 'bad.json');
      await writeFile(file, JSON.stringify({ good: 'Page 1: x', bad: 42 }));
      const error = await readSnippetCacheFile(file).catch((caught: unknown) => caught);
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as ValidationError).message).toContain(file);
      expect((error as ValidationError).field).toBe('bad');
    });

    it('refuses invalid JSON and non-objects', async () => {
      const invalid = path.join(directory, 'invalid.json');
      await writeFile(invalid, '{ "a": ');
      await expect(readSnippetCacheFile(invalid)).rejects.toThrow(/not valid JSON/);
      const list = path.join(directory, 'list.json');
      await writeFile(list, '["a"]');
      await expect(readSnippetCacheFile(list)).rejects.toThrow(/expected a JSON object/);
      await expect(readSnippetCacheFile(path.join(directory, 'missing.json'))).rejects.toThrow(/cannot read/);
    });
  });
});
