import type { BenchmarkItem } from '../datasets/benchmark-item.js';
import type { ExtractionMethod } from './extract-answer.js';

/** What a scorer is asked to judge. */
export interface ScoreInput {
  item: BenchmarkItem;
  /** The decoded model response (model and tool text). */
  response: string;
  signal?: AbortSignal;
}

/** A scored sample. */
export interface ScoreResult {
  correct: boolean;
  /** 0/1 for exact scorers; token F1 for text answers. */
  score: number;
  /** The extracted answer, undefined when none was found. */
  extracted: string | undefined;
  extraction: ExtractionMethod;
  /** Canonical form of the answer for majority voting (equal keys vote together). */
  answerKey: string | undefined;
  /** Which rule decided (`exact-match`, `math-equivalence`, `judge`, `judge-fallback`, ...). */
  method: string;
  /** Extra numbers to keep per sample (for example `f1`). */
  details?: Record<string, number | string | boolean>;
}

/** Scores a response against an item's references. */
export interface Scorer {
  readonly name: string;
  score(input: ScoreInput): ScoreResult | Promise<ScoreResult>;
}
