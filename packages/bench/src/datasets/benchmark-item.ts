import type { ChatMessage } from '@arpo/core';
import type { RecordLocation } from './dataset-record-error.js';

/**
 * How an item's answers are compared by default: `math` (math equivalence of LaTeX / numbers), `numeric`
 * (GSM8K-style number match) or `text` (SQuAD-normalised exact match and token F1 against every alias).
 */
export type AnswerKind = 'math' | 'numeric' | 'text';

/** One evaluation item, whatever file format and schema it came from. */
export interface BenchmarkItem {
  /** Unique within its dataset; results files key finished samples on it. */
  id: string;
  /** The question as the user asks it. */
  question: string;
  /** Accepted answers (aliases); an answer matching any of them is correct. */
  references: string[];
  answerKind: AnswerKind;
  /** The dataset (`gsm8k`, `hotpotqa`, or the verl `data_source`). */
  dataSource: string;
  /** A ready-made conversation (the verl schema carries one); otherwise the runner builds it from `question`. */
  prompt?: ChatMessage[];
  /** Other fields of the record (ids, solutions, urls), untouched. */
  metadata: Record<string, unknown>;
  location: RecordLocation;
}
