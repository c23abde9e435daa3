import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, ValidationError } from '@arpo/core';
import type { SearchBackend, SearchBackendResult } from './search-backend.js';

const queryPrefixPattern = /^search\s+query\s*:\s*/i;

/**
 * The normalisation used when a query is not a key of the cache as written: trim, drop one leading
 * `search query:` prefix (any case, any spacing; models trained on the ARPO prompt write it), collapse runs of
 * whitespace to one space, lower-case. `'  Search Query:  Amy   Smart '` and `'amy smart'` normalise alike.
 */
export function normaliseSearchQuery(query: string): string {
  return query.trim().replace(queryPrefixPattern, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

export interface SnippetCacheBackendOptions {
  /** Query → formatted results text, in the reference cache format. */
  entries: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /**
   * How a query that is not an exact key is matched: `true` (default) uses `normaliseSearchQuery`, a function
   * uses that normalisation instead, `false` allows exact keys only.
   */
  normalise?: boolean | ((query: string) => string);
  /** Name in tool metadata. Default `snippet-cache`. */
  name?: string;
}

/** A snippet cache: look-ups never fail; an unknown query is a `miss`. */
export interface SnippetCacheBackend extends SearchBackend {
  /** Number of cached queries. */
  readonly size: number;
  /** The cached text for `query` (exact key first, then the normalised key), or `undefined`. */
  lookup(query: string): { text: string; match: 'exact' | 'normalised'; key: string } | undefined;
}

/**
 * A search backend answering from a snippet cache in the reference ARPO format: one JSON object mapping the
 * query string to the formatted results text (`Page 1: ...\nPage 2: ...`). Cached text is returned byte for
 * byte. Look-up tries the query exactly as written, then its normalised form (see `normaliseSearchQuery`); when
 * two keys normalise alike, the first one in the file wins.
 */
export function createSnippetCacheBackend(options: SnippetCacheBackendOptions): SnippetCacheBackend {
  const name = options.name ?? 'snippet-cache';
  const exact = new Map<string, string>(
    options.entries instanceof Map ? options.entries : Object.entries(options.entries),
  );
  const normaliseOption = options.normalise ?? true;
  const normalise =
    normaliseOption === false ? undefined : normaliseOption === true ? normaliseSearchQuery : normaliseOption;
  const normalised = new Map<string, string>();
  if (normalise !== undefined) {
    for (const key of exact.keys()) {
      const normalKey = normalise(key);
      if (!normalised.has(normalKey)) normalised.set(normalKey, key);
    }
  }

  const lookup: SnippetCacheBackend['lookup'] = (query) => {
    const text = exact.get(query);
    if (text !== undefined) return { text, match: 'exact', key: query };
    if (normalise === undefined) return undefined;
    const key = normalised.get(normalise(query));
    if (key === undefined) return undefined;
    return { text: exact.get(key) as string, match: 'normalised', key };
  };

  return {
    name,
    size: exact.size,
    lookup,
    async search(request): Promise<SearchBackendResult> {
      const found = lookup(request.query);
      if (found === undefined) return { kind: 'miss' };
      return {
        kind: 'formatted',
        text: found.text,
        metadata: { cacheMatch: found.match, cacheKey: found.key },
      };
    },
  };
}

/**
 * Reads a snippet cache file (a JSON object of query → formatted text). Throws `ValidationError` naming the file
 * and the first offending key when the file is not such an object.
 */
export async function readSnippetCacheFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError({
      argument: 'path',
      message: `cannot read snippet cache ${path}`,
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError({
      subject: 'snippet cache',
      source: path,
      issues: [{ path: [], message: `not valid JSON (${(error as Error).message})` }],
      cause: error,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError({
      subject: 'snippet cache',
      source: path,
      issues: [{ path: [], message: 'expected a JSON object mapping query strings to result text' }],
    });
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new ValidationError({
        subject: 'snippet cache',
        source: path,
        issues: [{ path: [key], message: `expected a string of formatted results, got ${typeof entry}` }],
      });
    }
  }
  return value as Record<string, string>;
}

/** Reads a snippet cache file and returns a backend over it. */
export async function loadSnippetCacheBackend(
  path: string,
  options: Omit<SnippetCacheBackendOptions, 'entries'> = {},
): Promise<SnippetCacheBackend> {
  return createSnippetCacheBackend({ ...options, entries: await readSnippetCacheFile(path) });
}
