import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tool } from '@arpo/core';
import { describeToolConformance } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { type CorpusDocument, createBm25SearchBackend } from './bm25-search-backend.js';
import type { SearchBackend } from './search-backend.js';
import { SearchBackendError } from './search-backend-error.js';
import { createSearchTool } from './search-tool.js';
import { createSnippetCacheBackend } from './snippet-cache-backend.js';

const fixturePath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../test/fixtures/search-corpus.json',
);
const corpus = JSON.parse(readFileSync(fixturePath, 'utf8')) as CorpusDocument[];

describeToolConformance('search (BM25)', {
  create: () => createSearchTool({ backend: createBm25SearchBackend({ documents: corpus }) }),
  validInput: { query: 'Okapi BM25 ranking' },
  expectOutput: (output) => expect(output).toMatch(/^Page 1: Okapi BM25: /),
  invalidInput: { query: '   ' },
  invalidInputCode: 'invalid-input',
});

describeToolConformance('search (snippet cache)', {
  create: () =>
    createSearchTool({
      backend: createSnippetCacheBackend({ entries: { 'search query: x': 'Page 1: cached x' } }),
    }),
  validInput: 'x',
  expectOutput: (output) => expect(output).toBe('Page 1: cached x'),
  invalidInput: 42,
  invalidInputCode: 'invalid-input',
});

describe('createSearchTool', () => {
  const never: SearchBackend = { name: 'never', search: () => new Promise(() => {}) };

  it('times out a backend that ignores its signal', async () => {
    const tool = createSearchTool({ backend: never, timeoutMs: 30 });
    expect(await tool.execute('q')).toMatchObject({ ok: false, error: { code: 'timeout', retryable: true } });
    expect(await tool.execute('q', { timeoutMs: 10 })).toMatchObject({
      ok: false,
      error: { code: 'timeout' },
    });
  });

  it('turns backend exceptions into tool errors', async () => {
    const typed: SearchBackend = {
      name: 'typed',
      search: async () => {
        throw new SearchBackendError({
          backend: 'typed',
          toolErrorCode: 'unavailable',
          message: 'down',
          isRetryable: true,
        });
      },
    };
    expect(await createSearchTool({ backend: typed }).execute('q')).toEqual({
      ok: false,
      error: { code: 'unavailable', message: "Search backend 'typed': down", retryable: true },
    });
    const plain: SearchBackend = {
      name: 'plain',
      search: async () => {
        throw new TypeError('oops');
      },
    };
    expect(await createSearchTool({ backend: plain }).execute('q')).toMatchObject({
      ok: false,
      error: { code: 'runtime-error', message: 'search backend failed: oops' },
    });
  });

  it('names what is wrong with the input', async () => {
    const tool: Tool = createSearchTool({ backend: never });
    expect(await tool.execute({ q: 'x' })).toMatchObject({
      error: { code: 'invalid-input', message: /'query' is missing/ },
    });
    expect(await tool.execute({ query: 7 })).toMatchObject({
      error: { message: /must be a string, got number/ },
    });
    expect(await tool.execute(null)).toMatchObject({ error: { message: /got null/ } });
    expect(() => createSearchTool({ backend: never, name: 'web search' })).toThrow(/name/);
  });

  it('refuses calls after close and closes its backends once', async () => {
    let closes = 0;
    const backend: SearchBackend = {
      name: 'counting',
      search: async () => ({ kind: 'miss' }),
      close: async () => {
        closes += 1;
      },
    };
    const tool = createSearchTool({ backend, fallback: backend });
    await tool.close?.();
    await tool.close?.();
    expect(closes).toBe(2);
    expect(await tool.execute('q')).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  });
});
