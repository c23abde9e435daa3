import { bestOver, exactMatch, normalizeAnswer, tokenF1 } from '@arpo/tasks';
import type { AnswerKind } from '../datasets/benchmark-item.js';
import { extractAnswer } from './extract-answer.js';
import { mathEquivalent, normalizeMathAnswer, parseMathNumber } from './math-equivalence.js';
import type { ScoreResult, Scorer } from './scorer.js';

/**
 * Math answers: extraction (`<answer>` → `\boxed{}`), then math equivalence against every reference.
 */
export function createMathScorer(): Scorer {
  return {
    name: 'math-equivalence',
    score({ item, response }): ScoreResult {
      const { answer, method } = extractAnswer(response);
      const correct =
        answer !== undefined && item.references.some((reference) => mathEquivalent(answer, reference));
      return {
        correct,
        score: correct ? 1 : 0,
        extracted: answer,
        extraction: method,
        answerKey: answer === undefined ? undefined : mathAnswerKey(answer),
        method: 'math-equivalence',
      };
    },
  };
}

/** The vote key of a math answer: its number when it is one (so `0.5` and `\frac12` vote together). */
export function mathAnswerKey(answer: string): string {
  const normalised = normalizeMathAnswer(answer);
  const value = parseMathNumber(normalised);
  return value === undefined ? normalised : String(Number(value.toPrecision(12)));
}

/** Parses a GSM8K-style number: `$1,234.50`, `18 dollars`, `-3`; undefined when it is not one number. */
export function parseLooseNumber(text: string): number | undefined {
  const cleaned = normalizeMathAnswer(text.replaceAll('\\$', '').replaceAll('$', ''));
  const value = parseMathNumber(cleaned);
  return value === undefined || !Number.isFinite(value) ? undefined : value;
}

/**
 * GSM8K numeric match: the boxed answer, or the last number of the response when there is none (the GSM8K
 * convention), compared as numbers (absolute tolerance 1e-6); non-numeric answers fall back to math
 * equivalence.
 */
export function createNumericScorer(): Scorer {
  return {
    name: 'numeric-match',
    score({ item, response }): ScoreResult {
      const { answer, method } = extractAnswer(response, { lastNumberFallback: true });
      if (answer === undefined) {
        return {
          correct: false,
          score: 0,
          extracted: undefined,
          extraction: method,
          answerKey: undefined,
          method: 'numeric',
        };
      }
      const value = parseLooseNumber(answer);
      let correct: boolean;
      let decidedBy = 'numeric';
      if (value === undefined) {
        correct = item.references.some((reference) => mathEquivalent(answer, reference));
        decidedBy = 'math-equivalence';
      } else {
        correct = item.references.some((reference) => {
          const expected = parseLooseNumber(reference);
          return expected !== undefined && Math.abs(value - expected) <= 1e-6 + 1e-12 * Math.abs(expected);
        });
      }
      return {
        correct,
        score: correct ? 1 : 0,
        extracted: answer,
        extraction: method,
        answerKey: value === undefined ? normalizeMathAnswer(answer) : String(value),
        method: decidedBy,
      };
    },
  };
}

/**
 * Text answers (multi-hop QA): SQuAD-normalised exact match decides `correct`; `score` is the best token F1
 * over the aliases (with the yes/no/noanswer rule). Both come from @arpo/tasks' SQuAD implementation.
 */
export function createTextScorer(): Scorer {
  return {
    name: 'exact-match-f1',
    score({ item, response }): ScoreResult {
      const { answer, method } = extractAnswer(response);
      if (answer === undefined) {
        return {
          correct: false,
          score: 0,
          extracted: undefined,
          extraction: method,
          answerKey: undefined,
          method: 'exact-match',
          details: { f1: 0 },
        };
      }
      const correct = bestOver(item.references, (reference) => (exactMatch(answer, reference) ? 1 : 0)) === 1;
      const f1 = bestOver(item.references, (reference) => tokenF1(answer, reference));
      return {
        correct,
        score: f1,
        extracted: answer,
        extraction: method,
        answerKey: normalizeAnswer(answer),
        method: 'exact-match',
        details: { f1 },
      };
    },
  };
}

/** Picks the rule scorer by each item's `answerKind`: math, numeric (GSM8K) or text (QA). */
export function createDefaultScorer(): Scorer {
  const scorers: Record<AnswerKind, Scorer> = {
    math: createMathScorer(),
    numeric: createNumericScorer(),
    text: createTextScorer(),
  };
  return {
    name: 'default',
    score: (input) => scorers[input.item.answerKind].score(input),
  };
}
