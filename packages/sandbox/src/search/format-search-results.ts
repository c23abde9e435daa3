/** The text the reference ARPO search tool returns when a search finds nothing. */
export const noSearchResultsText = 'No search results found.';

/** One search result as a backend returns it, before formatting. */
export interface SearchHit {
  /** The text shown to the model after `Page i: `. */
  snippet: string;
  title?: string;
  url?: string;
  /** The corpus document id, for corpus backends. */
  id?: string;
  /** The backend's relevance score, when it has one. */
  score?: number;
}

export interface FormatSearchResultsOptions {
  /** How many hits to show at most. Default 10 (the reference tool's `max_results`). */
  topK?: number;
  /** Longest snippet shown, in Unicode code points (Python's `snippet[:n]`). Default 1000. */
  snippetLength?: number;
}

/**
 * Cuts `text` to at most `length` Unicode code points, like Python's `text[:length]`, so that a snippet with
 * emoji or other astral characters is cut where the reference Python tool cuts it (JavaScript's `slice` counts
 * UTF-16 units and could split a surrogate pair).
 */
export function truncateCodePoints(text: string, length: number): string {
  // A string of n UTF-16 units has at most n code points: nothing to cut.
  if (text.length <= length) return text;
  let index = 0;
  let count = 0;
  while (index < text.length && count < length) {
    const code = text.charCodeAt(index);
    index += code >= 0xd800 && code <= 0xdbff && index + 1 < text.length ? 2 : 1;
    count += 1;
  }
  return text.slice(0, index);
}

/**
 * Formats hits exactly like the reference ARPO search tool: `Page 1: <snippet>` lines joined by `\n`, at most
 * `topK` of them, each snippet cut to `snippetLength` code points; `No search results found.` when empty.
 */
export function formatSearchResults(
  hits: readonly SearchHit[],
  options: FormatSearchResultsOptions = {},
): string {
  const topK = options.topK ?? 10;
  const snippetLength = options.snippetLength ?? 1000;
  const lines: string[] = [];
  for (const hit of hits) {
    if (lines.length >= topK) break;
    lines.push(`Page ${lines.length + 1}: ${truncateCodePoints(hit.snippet, snippetLength)}`);
  }
  return lines.length === 0 ? noSearchResultsText : lines.join('\n');
}
