import { lastAnswerSpan, lastBoxedContent, unwrapTextCommands } from '@arpo/tasks';

/** How an answer was found, from most to least trustworthy. */
export type ExtractionMethod =
  /** The last `\boxed{}` inside the last `<answer>` span (the ARPO format). */
  | 'answer-boxed'
  /** The last `<answer>` span has no box: its whole text. */
  | 'answer-span'
  /** No `<answer>` span: the last `\boxed{}` anywhere in the response. */
  | 'boxed'
  /** Nothing else: the last number in the response (only with `lastNumberFallback`). */
  | 'last-number'
  | 'none';

export interface ExtractedAnswer {
  answer: string | undefined;
  method: ExtractionMethod;
}

export interface ExtractAnswerOptions {
  /** Fall back to the last number in the response (GSM8K-style); default false. */
  lastNumberFallback?: boolean;
}

const numberPattern = /-?\d[\d,]*(?:\.\d+)?|-?\.\d+/g;

/** The last number written in `text` (thousands separators removed), or undefined. */
export function lastNumberIn(text: string): string | undefined {
  const matches = text.match(numberPattern);
  const last = matches?.at(-1);
  if (last === undefined) return undefined;
  const cleaned = last.replaceAll(',', '').replace(/\.$/, '');
  return cleaned === '' || cleaned === '-' ? undefined : cleaned;
}

function clean(text: string): string {
  return unwrapTextCommands(text).trim();
}

/**
 * The final answer of a response. In order: the last `\boxed{}` (nested braces balanced) of the last
 * `<answer>...</answer>` span; the span's own text when it has no box; the last `\boxed{}` anywhere when there
 * is no span; optionally the last number in the response. `\text{}` (and `\textbf`, `\mathrm`, `\mbox`) is
 * unwrapped and whitespace trimmed. An unclosed trailing `<answer>` (a response cut by the length limit) counts
 * as a span running to the end.
 */
export function extractAnswer(response: string, options: ExtractAnswerOptions = {}): ExtractedAnswer {
  let span = lastAnswerSpan(response);
  if (span === undefined) {
    const open = response.lastIndexOf('<answer>');
    if (open >= 0) span = response.slice(open + '<answer>'.length);
  }
  if (span !== undefined) {
    const boxed = lastBoxedContent(span);
    if (boxed !== undefined) return { answer: clean(boxed), method: 'answer-boxed' };
    const text = clean(span);
    if (text !== '') return { answer: text, method: 'answer-span' };
  }
  const boxed = lastBoxedContent(response);
  if (boxed !== undefined) return { answer: clean(boxed), method: 'boxed' };
  if (options.lastNumberFallback === true) {
    const number = lastNumberIn(response);
    if (number !== undefined) return { answer: number, method: 'last-number' };
  }
  return { answer: undefined, method: 'none' };
}
