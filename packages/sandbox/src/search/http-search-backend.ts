import { InvalidArgumentError } from '@arpo/core';
import type { SearchHit } from './format-search-results.js';
import type { SearchBackend, SearchBackendResult, SearchRequest } from './search-backend.js';
import { SearchBackendError } from './search-backend-error.js';

export interface HttpSearchBackendOptions {
  /** The search endpoint, for example `https://api.bing.microsoft.com/v7.0/search`. */
  url: string | URL;
  /** `GET` (default) puts the query in the URL; `POST` sends a JSON body from `body`. */
  method?: 'GET' | 'POST';
  /** URL parameter carrying the query for `GET`. Default `q`. */
  queryParameter?: string;
  /** URL parameter carrying the wanted number of results for `GET`; `null` leaves it out. Default `count`. */
  countParameter?: string | null;
  /** Extra fixed URL parameters (market, safe search, ...). */
  parameters?: Readonly<Record<string, string>>;
  /** The JSON body for `POST`. Default `{ query, count }`. */
  body?: (request: { query: string; count: number }) => unknown;
  /** The API key, sent in `apiKeyHeader`. Never read from the environment by this library. */
  apiKey?: string;
  /** Header carrying the key. Default `Ocp-Apim-Subscription-Key` (Bing); `Authorization` sends `Bearer <key>`. */
  apiKeyHeader?: string;
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  /** Per-attempt time limit. Default 10 000 ms. */
  timeoutMs?: number;
  /** Retries after a 429, a 5xx, a network error or an attempt timeout. Default 2. */
  retries?: number;
  /** First retry delay; doubles each retry (no jitter, so runs are reproducible). Default 200 ms. */
  retryDelayMs?: number;
  /** Upper bound of any retry delay, including a server's `Retry-After`. Default 5 000 ms. */
  maxRetryDelayMs?: number;
  /** Turns the response JSON into hits. Default `mapSearchResponse` (Bing, SERP, Google CSE, generic shapes). */
  mapResponse?: (body: unknown) => SearchHit[];
  /** The fetch implementation. Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Name in tool metadata and errors. Default `http`. */
  name?: string;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function firstString(record: JsonObject, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = record[key];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function hitsFrom(list: unknown, snippetKeys: readonly string[]): SearchHit[] {
  if (!Array.isArray(list)) return [];
  const hits: SearchHit[] = [];
  for (const item of list) {
    if (!isObject(item)) continue;
    const snippet = firstString(item, snippetKeys);
    if (snippet === undefined) continue;
    const hit: SearchHit = { snippet };
    const title = firstString(item, ['title', 'name']);
    const url = firstString(item, ['url', 'link', 'href']);
    if (title !== undefined) hit.title = title;
    if (url !== undefined) hit.url = url;
    hits.push(hit);
  }
  return hits;
}

const snippetKeys = ['snippet', 'description', 'content', 'text', 'body'] as const;

/**
 * Maps common web-search response shapes to hits, in order of preference: Bing (`webPages.value[].snippet`),
 * SERP APIs (`organic[].description`, as the reference ARPO tool read, or `organic_results[].snippet`), Google
 * Custom Search (`items[].snippet`), and generic `results[]` or a top-level array with one of `snippet`,
 * `description`, `content`, `text`, `body`. An object with none of these lists means no results. Throws
 * `InvalidArgumentError` when the body is not JSON object or array.
 */
export function mapSearchResponse(body: unknown): SearchHit[] {
  if (Array.isArray(body)) return hitsFrom(body, snippetKeys);
  if (!isObject(body)) {
    throw new InvalidArgumentError({
      argument: 'body',
      message: 'search response must be a JSON object or array',
    });
  }
  const webPages = body.webPages;
  if (isObject(webPages)) return hitsFrom(webPages.value, snippetKeys);
  for (const key of ['organic', 'organic_results', 'items', 'results', 'data']) {
    if (Array.isArray(body[key])) return hitsFrom(body[key], snippetKeys);
  }
  return [];
}

function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, milliseconds);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** `Retry-After` in seconds or as an HTTP date, in milliseconds; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function checkCount(value: number, argument: string, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new InvalidArgumentError({ argument, message: `must be an integer ≥ ${minimum}, got ${value}` });
  }
}

/**
 * A search backend for web-search services speaking JSON over HTTP (Bing-style by default). Each attempt has
 * its own timeout; 429, 5xx, network errors and attempt timeouts are retried with exponential backoff
 * (honouring `Retry-After`, capped); other 4xx fail at once. Failures are thrown as `SearchBackendError`.
 */
export function createHttpSearchBackend(options: HttpSearchBackendOptions): SearchBackend {
  const name = options.name ?? 'http';
  let baseUrl: URL;
  try {
    baseUrl = new URL(options.url);
  } catch (error) {
    throw new InvalidArgumentError({
      argument: 'url',
      message: `not a valid URL: ${String(options.url)}`,
      cause: error,
    });
  }
  const method = options.method ?? 'GET';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retries = options.retries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
  checkCount(timeoutMs, 'timeoutMs', 1);
  checkCount(retries, 'retries', 0);
  checkCount(retryDelayMs, 'retryDelayMs', 0);
  checkCount(maxRetryDelayMs, 'maxRetryDelayMs', 0);
  const fetchImplementation = options.fetch ?? globalThis.fetch;
  const mapResponse = options.mapResponse ?? mapSearchResponse;
  const apiKeyHeader = options.apiKeyHeader ?? 'Ocp-Apim-Subscription-Key';

  const buildRequest = (request: SearchRequest): { url: URL; init: RequestInit } => {
    const url = new URL(baseUrl);
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.apiKey !== undefined) {
      headers[apiKeyHeader] =
        apiKeyHeader.toLowerCase() === 'authorization' ? `Bearer ${options.apiKey}` : options.apiKey;
    }
    for (const [key, value] of Object.entries(options.parameters ?? {})) url.searchParams.set(key, value);
    if (method === 'GET') {
      url.searchParams.set(options.queryParameter ?? 'q', request.query);
      const countParameter = options.countParameter === undefined ? 'count' : options.countParameter;
      if (countParameter !== null) url.searchParams.set(countParameter, String(request.topK));
      return { url, init: { method, headers } };
    }
    headers['content-type'] = 'application/json';
    const body = options.body ?? ((input: { query: string; count: number }) => input);
    return {
      url,
      init: { method, headers, body: JSON.stringify(body({ query: request.query, count: request.topK })) },
    };
  };

  const fail = (
    toolErrorCode: SearchBackendError['toolErrorCode'],
    message: string,
    extra: { status?: number; isRetryable?: boolean; cause?: unknown } = {},
  ) => new SearchBackendError({ backend: name, toolErrorCode, message, ...extra });

  return {
    name,
    async search(request): Promise<SearchBackendResult> {
      const { url, init } = buildRequest(request);
      // The URL is safe to name in errors: the key travels in a header, never in the URL.
      const where = `${init.method} ${url.origin}${url.pathname}`;
      let lastError: SearchBackendError | undefined;
      let retryAfter: number | undefined;
      for (let attempt = 0; attempt <= retries; attempt += 1) {
        if (attempt > 0) {
          const backoff = retryDelayMs * 2 ** (attempt - 1);
          await sleep(Math.min(maxRetryDelayMs, retryAfter ?? backoff), request.signal);
          retryAfter = undefined;
        }
        if (request.signal.aborted)
          throw fail('aborted', `${where} was aborted`, { cause: request.signal.reason });
        const attemptController = new AbortController();
        const onAbort = () => attemptController.abort(request.signal.reason);
        request.signal.addEventListener('abort', onAbort, { once: true });
        const timer = setTimeout(() => attemptController.abort(new Error('attempt timed out')), timeoutMs);
        try {
          const response = await fetchImplementation(url, { ...init, signal: attemptController.signal });
          const text = await response.text();
          if (response.ok) {
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch (error) {
              throw fail('runtime-error', `${where} returned invalid JSON: ${text.slice(0, 200)}`, {
                status: response.status,
                cause: error,
              });
            }
            let hits: SearchHit[];
            try {
              hits = mapResponse(body);
            } catch (error) {
              throw fail(
                'runtime-error',
                `cannot read the response of ${where}: ${(error as Error).message}`,
                {
                  status: response.status,
                  cause: error,
                },
              );
            }
            return { kind: 'hits', hits, metadata: { status: response.status, attempts: attempt + 1 } };
          }
          const detail = `${where} answered HTTP ${response.status}: ${text.slice(0, 200)}`;
          if (response.status === 429 || response.status >= 500) {
            retryAfter = retryAfterMs(response.headers.get('retry-after'));
            lastError = fail('unavailable', detail, { status: response.status, isRetryable: true });
            continue;
          }
          throw fail('runtime-error', detail, { status: response.status });
        } catch (error) {
          if (SearchBackendError.isInstance(error)) throw error;
          if (request.signal.aborted) throw fail('aborted', `${where} was aborted`, { cause: error });
          lastError = attemptController.signal.aborted
            ? fail('timeout', `${where} did not answer within ${timeoutMs} ms`, {
                isRetryable: true,
                cause: error,
              })
            : fail('unavailable', `${where} failed: ${(error as Error).message}`, {
                isRetryable: true,
                cause: error,
              });
        } finally {
          clearTimeout(timer);
          request.signal.removeEventListener('abort', onAbort);
        }
      }
      const attempts = retries + 1;
      const last = lastError as SearchBackendError;
      throw new SearchBackendError({
        backend: name,
        toolErrorCode: last.toolErrorCode,
        message: `${last.message.replace(`Search backend '${name}': `, '')} (after ${attempts} attempt${attempts === 1 ? '' : 's'})`,
        status: last.status,
        isRetryable: true,
        cause: last,
      });
    },
  };
}
