import type { SearchHit } from './format-search-results.js';

/** What a search backend is asked for. */
export interface SearchRequest {
  /** The query as the model wrote it (the search tool only checks it is a non-empty string). */
  query: string;
  /** How many hits the tool will show; backends may return more. */
  topK: number;
  /** Aborted when the caller cancels or the tool's timeout fires. Backends doing I/O must honour it. */
  signal: AbortSignal;
}

/**
 * A backend's answer:
 * - `hits`: results the search tool formats (`Page i: ...`);
 * - `formatted`: text that is already formatted (a snippet cache), returned unchanged;
 * - `miss`: the backend has no answer for this query (a cache miss); the tool uses its fallback.
 */
export type SearchBackendResult =
  | { kind: 'hits'; hits: SearchHit[]; metadata?: Record<string, unknown> }
  | { kind: 'formatted'; text: string; metadata?: Record<string, unknown> }
  | { kind: 'miss' };

/**
 * Where search results come from: a local BM25 index, a snippet cache, a web-search service. Implement this to
 * plug in any service. Failures are thrown as `SearchBackendError` (other exceptions become `runtime-error`).
 */
export interface SearchBackend {
  /** Short name used in tool metadata and error messages: `bm25`, `snippet-cache`, `http`. */
  readonly name: string;
  search(request: SearchRequest): Promise<SearchBackendResult>;
  /** Releases connections or files. Idempotent. */
  close?(): Promise<void>;
}
