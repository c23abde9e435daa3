import { InvalidArgumentError } from '@arpo/core';
import MiniSearch from 'minisearch';
import type { SearchHit } from './format-search-results.js';
import type { SearchBackend, SearchBackendResult } from './search-backend.js';

/** One document of a searchable corpus. */
export interface CorpusDocument {
  id: string | number;
  title?: string;
  text: string;
}

/** BM25 parameters. The defaults make MiniSearch's BM25+ the classic Okapi BM25 (`delta: 0`). */
export interface Bm25Parameters {
  /** Term-frequency saturation. Default 1.2. */
  k1?: number;
  /** Length normalisation. Default 0.75. */
  b?: number;
  /** BM25+ lower bound for a matching term (0 = Okapi BM25, MiniSearch's own default is 0.5). Default 0. */
  delta?: number;
}

export interface Bm25SearchBackendOptions {
  documents: Iterable<CorpusDocument>;
  bm25?: Bm25Parameters;
  /** Weight of a title match relative to a text match. Default 2. */
  titleBoost?: number;
  /**
   * MiniSearch multiplies a document's score by the number of distinct query terms it matches (a coordination
   * factor). `false` (default) removes it so scores are plain BM25 sums; `true` keeps it.
   */
  coordination?: boolean;
  /** Lower-cased terms left out of the index and of queries. Default none (BM25's IDF already damps them). */
  stopWords?: Iterable<string>;
  /** Fuzzy matching (edit distance as a fraction of term length, MiniSearch semantics). Default off. */
  fuzzy?: number;
  /** Prefix matching of query terms. Default off. */
  prefix?: boolean;
  /**
   * The snippet shown for a document. Default: `title: text` (or `text` without a title) with runs of whitespace
   * collapsed, so every hit stays on its own `Page i:` line like the reference web snippets.
   */
  snippet?: (document: CorpusDocument) => string;
  /** Name in tool metadata. Default `bm25`. */
  name?: string;
}

/** A BM25 search backend over an in-memory corpus. */
export interface Bm25SearchBackend extends SearchBackend {
  /** Number of indexed documents. */
  readonly size: number;
  /** Adds documents to the index. Throws `InvalidArgumentError` on a malformed or duplicate document. */
  add(documents: Iterable<CorpusDocument>): void;
  /** The ranked hits for `query`, best first (synchronous; `search` wraps it). */
  rank(query: string, topK: number): SearchHit[];
}

function defaultSnippet(document: CorpusDocument): string {
  const text = document.text.replace(/\s+/g, ' ').trim();
  const title = document.title?.replace(/\s+/g, ' ').trim();
  return title ? `${title}: ${text}` : text;
}

interface IndexedDocument {
  position: number;
  title: string;
  text: string;
}

/**
 * Ranks a document corpus with BM25 through MiniSearch (a maintained full-text index). Title and text are
 * separate fields (BM25 per field, summed with `titleBoost`); tokens are split on Unicode spaces and
 * punctuation and lower-cased.
 */
export function createBm25SearchBackend(options: Bm25SearchBackendOptions): Bm25SearchBackend {
  const name = options.name ?? 'bm25';
  const bm25 = { k: options.bm25?.k1 ?? 1.2, b: options.bm25?.b ?? 0.75, d: options.bm25?.delta ?? 0 };
  for (const [key, value] of Object.entries(bm25)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidArgumentError({
        argument: `bm25.${key}`,
        message: `must be a finite number ≥ 0, got ${value}`,
      });
    }
  }
  const stopWords = new Set([...(options.stopWords ?? [])].map((word) => word.toLowerCase()));
  const snippetOf = options.snippet ?? defaultSnippet;
  const coordination = options.coordination ?? false;
  const documents: CorpusDocument[] = [];
  const ids = new Set<string | number>();
  const index = new MiniSearch<IndexedDocument>({
    idField: 'position',
    fields: ['title', 'text'],
    processTerm: (term) => {
      const lower = term.toLowerCase();
      return stopWords.has(lower) ? null : lower;
    },
    searchOptions: {
      boost: { title: options.titleBoost ?? 2 },
      bm25,
      fuzzy: options.fuzzy ?? false,
      prefix: options.prefix ?? false,
      combineWith: 'OR',
    },
  });

  const add = (incoming: Iterable<CorpusDocument>) => {
    const accepted: CorpusDocument[] = [];
    const batchIds = new Set<string | number>();
    let offset = 0;
    for (const document of incoming) {
      const where = `documents[${offset}]`;
      offset += 1;
      if (document === null || typeof document !== 'object') {
        throw new InvalidArgumentError({
          argument: where,
          message: 'must be an object { id, title?, text }',
        });
      }
      if (typeof document.id !== 'string' && typeof document.id !== 'number') {
        throw new InvalidArgumentError({ argument: `${where}.id`, message: 'must be a string or a number' });
      }
      if (typeof document.text !== 'string') {
        throw new InvalidArgumentError({ argument: `${where}.text`, message: 'must be a string' });
      }
      if (document.title !== undefined && typeof document.title !== 'string') {
        throw new InvalidArgumentError({
          argument: `${where}.title`,
          message: 'must be a string when given',
        });
      }
      if (ids.has(document.id) || batchIds.has(document.id)) {
        throw new InvalidArgumentError({
          argument: `${where}.id`,
          message: `duplicate document id ${document.id}`,
        });
      }
      batchIds.add(document.id);
      accepted.push(
        document.title === undefined
          ? { id: document.id, text: document.text }
          : { id: document.id, title: document.title, text: document.text },
      );
    }
    // The whole batch is checked before any of it is indexed, so a bad document leaves the index unchanged.
    const batch = accepted.map((document, offsetInBatch) => ({
      position: documents.length + offsetInBatch,
      title: document.title ?? '',
      text: document.text,
    }));
    for (const id of batchIds) ids.add(id);
    // A loop, not push(...accepted): spreading a large corpus would overflow the call stack.
    for (const document of accepted) documents.push(document);
    index.addAll(batch);
  };

  const rank = (query: string, topK: number): SearchHit[] => {
    const results = index.search(query);
    const scored = results.map((result) => ({
      position: result.id as number,
      score: coordination ? result.score : result.score / Math.max(1, result.queryTerms.length),
    }));
    if (!coordination)
      scored.sort((left, right) => right.score - left.score || left.position - right.position);
    return scored.slice(0, Math.max(0, topK)).map(({ position, score }) => {
      const document = documents[position] as CorpusDocument;
      const hit: SearchHit = { snippet: snippetOf(document), id: String(document.id), score };
      if (document.title !== undefined) hit.title = document.title;
      return hit;
    });
  };

  add(options.documents);

  return {
    name,
    get size() {
      return documents.length;
    },
    add,
    rank,
    async search(request): Promise<SearchBackendResult> {
      return { kind: 'hits', hits: rank(request.query, request.topK) };
    },
  };
}
