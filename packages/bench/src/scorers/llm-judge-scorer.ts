import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '@arpo/core';
import { extractAnswer } from './extract-answer.js';
import { createDefaultScorer } from './rule-scorers.js';
import type { ScoreInput, ScoreResult, Scorer } from './scorer.js';

export interface LlmJudgeOptions {
  /** Base URL of an OpenAI-compatible API, for example `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Retries after a 429, a 5xx, a timeout or a connection error. Default 3. */
  maxRetries?: number;
  /** First backoff delay; doubles per retry. A `Retry-After` header (seconds, capped at 30) wins. Default 500 ms. */
  retryDelayMs?: number;
  /** Per-request timeout. Default 60 000 ms. */
  timeoutMs?: number;
  /** Scores the sample when the judge cannot be reached or replies nonsense. Default: the rule scorer. */
  fallback?: Scorer;
  /** Builds the judge prompt; default `defaultJudgePrompt`. */
  prompt?: (input: { question: string; references: readonly string[]; prediction: string }) => string;
  fetch?: typeof fetch;
}

/** The default judge prompt: question, accepted answers, prediction; asks for one word. */
export function defaultJudgePrompt(input: {
  question: string;
  references: readonly string[];
  prediction: string;
}): string {
  return [
    'You are grading an answer to a question. Decide whether the predicted answer means the same as any of the',
    'labeled answers (aliases). Ignore formatting, capitalisation and harmless extra words; a different entity,',
    'number or date is wrong.',
    '',
    `Question: ${input.question}`,
    `Labeled answers: ${input.references.map((reference) => JSON.stringify(reference)).join(', ')}`,
    `Predicted answer: ${JSON.stringify(input.prediction)}`,
    '',
    'Reply with exactly one word: Correct or Incorrect.',
  ].join('\n');
}

/** Words that negate a following "correct" (`not correct`, `isn't entirely correct`, `never correct`). */
const negations = new Set(['not', 'no', 'never', 'hardly', 'neither', 'nor', 'cannot']);
/** How many words before "correct" a negation still applies to (`not quite fully correct`). */
const negationWindow = 3;

/**
 * The judge's verdict: correct iff the reply says "correct" (as a whole word, not negated) and says neither
 * "incorrect", "wrong" nor a negated "correct". So `Correct` and `{"judgement": "correct"}` are correct;
 * `Incorrect`, `Not correct`, `The answer isn't correct`, `corrected` and `not sure` are not.
 */
export function parseJudgeVerdict(reply: string): boolean {
  const words =
    reply
      .toLowerCase()
      .replaceAll('’', "'")
      .match(/[a-z]+(?:'[a-z]+)?/g) ?? [];
  let positive = false;
  for (let index = 0; index < words.length; index++) {
    const word = words[index] as string;
    if (word === 'incorrect' || word === 'wrong') return false;
    if (word !== 'correct') continue;
    const before = words.slice(Math.max(0, index - negationWindow), index);
    if (before.some((previous) => negations.has(previous) || previous.endsWith("n't"))) return false;
    positive = true;
  }
  return positive;
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * LLM-as-judge through any OpenAI-compatible `/chat/completions` endpoint (temperature 0). The sample is correct
 * iff the judge says correct and neither incorrect nor a negated correct (`parseJudgeVerdict`). 429/5xx/timeouts/connection errors are retried with exponential
 * backoff; when the judge stays unreachable (or answers with a non-retryable error) the fallback scorer decides
 * (math equivalence for math items, exact match for text) and the result's `method` is `judge-fallback`.
 * Samples without an extractable answer are incorrect without asking the judge.
 */
export function createLlmJudgeScorer(options: LlmJudgeOptions): Scorer {
  if (options.baseUrl === '' || options.model === '') {
    throw new InvalidArgumentError({ argument: 'options', message: 'baseUrl and model must be non-empty' });
  }
  const maxRetries = options.maxRetries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const fallback = options.fallback ?? createDefaultScorer();
  const buildPrompt = options.prompt ?? defaultJudgePrompt;
  const fetchFunction = options.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;

  async function ask(
    prompt: string,
    signal: AbortSignal | undefined,
  ): Promise<{ reply: string } | { error: string }> {
    let lastError = 'no attempt';
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (signal?.aborted) return { error: 'aborted' };
      let delay = retryDelayMs * 2 ** attempt;
      try {
        const timeout = AbortSignal.timeout(timeoutMs);
        const response = await fetchFunction(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
          },
          body: JSON.stringify({
            model: options.model,
            temperature: 0,
            max_tokens: 16,
            messages: [{ role: 'user', content: prompt }],
          }),
          signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        });
        if (response.ok) {
          const body = (await response.json()) as { choices?: { message?: { content?: unknown } }[] };
          const content = body.choices?.[0]?.message?.content;
          if (typeof content === 'string') return { reply: content };
          return { error: 'the reply has no choices[0].message.content string' };
        }
        lastError = `HTTP ${response.status}`;
        await response.body?.cancel();
        if (!isRetryableStatus(response.status)) return { error: lastError };
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) delay = Math.min(retryAfter, 30) * 1000;
      } catch (error) {
        if (signal?.aborted) return { error: 'aborted' };
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (attempt < maxRetries)
        await sleep(delay, undefined, signal === undefined ? undefined : { signal }).catch(() => undefined);
    }
    return { error: `gave up after ${maxRetries + 1} attempts (${lastError})` };
  }

  return {
    name: 'llm-judge',
    async score(input: ScoreInput): Promise<ScoreResult> {
      const { answer, method } = extractAnswer(input.response, {
        lastNumberFallback: input.item.answerKind === 'numeric',
      });
      const rule = await fallback.score(input);
      if (answer === undefined) return { ...rule, correct: false, score: 0, method: 'judge-no-answer' };
      const outcome = await ask(
        buildPrompt({ question: input.item.question, references: input.item.references, prediction: answer }),
        input.signal,
      );
      if ('error' in outcome) {
        return { ...rule, method: 'judge-fallback', details: { ...rule.details, judgeError: outcome.error } };
      }
      const correct = parseJudgeVerdict(outcome.reply);
      return {
        correct,
        score: correct ? 1 : 0,
        extracted: answer,
        extraction: method,
        answerKey: rule.answerKey,
        method: 'judge',
        details: { ...rule.details, judgeReply: outcome.reply.slice(0, 200), ruleCorrect: rule.correct },
      };
    },
  };
}
