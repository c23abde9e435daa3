import {
  InvalidArgumentError,
  type Tool,
  type ToolErrorCode,
  type ToolExecuteOptions,
  type ToolResult,
  toolFailure,
  toolNamePattern,
  toolSuccess,
} from '@arpo/core';
import { formatSearchResults, noSearchResultsText } from './format-search-results.js';
import type { SearchBackend, SearchBackendResult } from './search-backend.js';
import { SearchBackendError } from './search-backend-error.js';

/**
 * What the search tool does when its backend has no answer (a snippet-cache miss):
 * - another backend (for example BM25 over a local corpus or an HTTP service);
 * - `{ text }`: answer with fixed text (default: `No search results found.`, the reference tool's text);
 * - `{ error }`: fail with that tool error code.
 */
export type SearchFallback = SearchBackend | { text: string } | { error: ToolErrorCode; message?: string };

export interface SearchToolOptions {
  backend: SearchBackend;
  /** Used on a backend `miss`. Default `{ text: 'No search results found.' }`. */
  fallback?: SearchFallback;
  /** Default `search` (the ARPO tag is `<search>`). */
  name?: string;
  description?: string;
  /** Hits shown at most. Default 10. */
  topK?: number;
  /** Longest snippet, in code points. Default 1000. */
  snippetLength?: number;
  /** Default wall-clock limit per call (backend plus fallback). Default 30 000 ms. */
  timeoutMs?: number;
}

/** The search tool's input: a query string, bare or as `{ query }`. */
export type SearchToolInput = string | { query: string };

const defaultDescription =
  'Searches for documents relevant to a query and returns the best snippets as "Page i: <snippet>" lines.';

function isBackend(fallback: SearchFallback): fallback is SearchBackend {
  return typeof (fallback as SearchBackend).search === 'function';
}

function readQuery(input: unknown): string | ToolResult {
  let query: unknown = input;
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    if (!('query' in input))
      return toolFailure(
        'invalid-input',
        "search input must be a string or { query: string }; 'query' is missing",
      );
    query = (input as { query: unknown }).query;
  }
  if (typeof query !== 'string') {
    return toolFailure(
      'invalid-input',
      `search query must be a string, got ${Array.isArray(query) ? 'array' : query === null ? 'null' : typeof query}`,
    );
  }
  if (query.trim() === '') return toolFailure('invalid-input', 'search query is empty');
  return query;
}

/**
 * A search tool formatted like the reference ARPO search tool. The backend's hits become `Page i: <snippet>`
 * lines (top-k, snippet cap); text from a snippet cache is returned unchanged. Backend failures, timeouts and
 * aborts resolve to tool errors; nothing is thrown.
 */
export function createSearchTool(options: SearchToolOptions): Tool<SearchToolInput> {
  const name = options.name ?? 'search';
  if (!toolNamePattern.test(name)) {
    throw new InvalidArgumentError({
      argument: 'name',
      message: `'${name}' does not match ${toolNamePattern}`,
    });
  }
  const topK = options.topK ?? 10;
  const snippetLength = options.snippetLength ?? 1000;
  const defaultTimeoutMs = options.timeoutMs ?? 30_000;
  const fallback = options.fallback ?? { text: noSearchResultsText };
  let closed = false;

  const render = (result: Exclude<SearchBackendResult, { kind: 'miss' }>) =>
    result.kind === 'formatted' ? result.text : formatSearchResults(result.hits, { topK, snippetLength });

  const run = async (query: string, signal: AbortSignal): Promise<ToolResult> => {
    const primary = await options.backend.search({ query, topK, signal });
    if (primary.kind !== 'miss') {
      return toolSuccess(render(primary), {
        backend: options.backend.name,
        source: 'backend',
        ...primary.metadata,
      });
    }
    if (isBackend(fallback)) {
      const secondary = await fallback.search({ query, topK, signal });
      const text = secondary.kind === 'miss' ? noSearchResultsText : render(secondary);
      const metadata = secondary.kind === 'miss' ? {} : secondary.metadata;
      return toolSuccess(text, { backend: fallback.name, source: 'fallback', ...metadata });
    }
    if ('text' in fallback)
      return toolSuccess(fallback.text, { backend: options.backend.name, source: 'fallback-text' });
    return toolFailure(
      fallback.error,
      fallback.message ?? `no results for this query in '${options.backend.name}'`,
    );
  };

  return {
    name,
    description: options.description ?? defaultDescription,
    inputSchema: {
      type: 'object',
      properties: { query: { type: 'string', description: 'What to search for.' } },
      required: ['query'],
      additionalProperties: false,
    },
    async execute(input: unknown, executeOptions: ToolExecuteOptions = {}): Promise<ToolResult> {
      const query = readQuery(input);
      if (typeof query !== 'string') return query;
      if (closed) return toolFailure('unavailable', `search tool '${name}' is closed`);
      const outer = executeOptions.signal;
      if (outer?.aborted) return toolFailure('aborted', 'search was aborted before it started');
      const timeoutMs = executeOptions.timeoutMs ?? defaultTimeoutMs;
      const controller = new AbortController();
      let timedOut = false;
      const onAbort = () => controller.abort(outer?.reason);
      outer?.addEventListener('abort', onAbort, { once: true });
      let timer: ReturnType<typeof setTimeout> | undefined;
      // Races the backend so that a backend ignoring its signal still cannot hold the call past its limit.
      const limit = new Promise<ToolResult>((resolve) => {
        timer = setTimeout(() => {
          timedOut = true;
          controller.abort(new Error('search timed out'));
          resolve(toolFailure('timeout', `search did not finish within ${timeoutMs} ms`, true));
        }, timeoutMs);
        controller.signal.addEventListener(
          'abort',
          () => {
            if (!timedOut) resolve(toolFailure('aborted', 'search was aborted'));
          },
          { once: true },
        );
      });
      try {
        return await Promise.race([
          run(query, controller.signal).catch((error: unknown) => {
            if (timedOut) return toolFailure('timeout', `search did not finish within ${timeoutMs} ms`, true);
            if (outer?.aborted) return toolFailure('aborted', 'search was aborted');
            if (SearchBackendError.isInstance(error)) {
              return toolFailure(error.toolErrorCode, error.message, error.isRetryable);
            }
            return toolFailure(
              'runtime-error',
              `search backend failed: ${(error as Error)?.message ?? String(error)}`,
            );
          }),
          limit,
        ]);
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await options.backend.close?.();
      if (isBackend(fallback)) await fallback.close?.();
    },
  };
}
