import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchmarkItem } from '../src/datasets/benchmark-item.js';
import { createLlmJudgeScorer, parseJudgeVerdict } from '../src/scorers/llm-judge-scorer.js';

/** A scripted OpenAI-compatible judge: replies come from a queue of statuses and verdict texts. */
let server: Server;
let baseUrl: string;
const script: { status: number; reply?: string; retryAfter?: string; delayMs?: number }[] = [];
const received: { prompt: string; model: string; authorization: string | undefined }[] = [];

function handle(request: IncomingMessage, response: ServerResponse) {
  let body = '';
  request.on('data', (chunk) => {
    body += chunk;
  });
  request.on('end', () => {
    if (request.url !== '/v1/chat/completions' || request.method !== 'POST') {
      response.writeHead(404).end();
      return;
    }
    const parsed = JSON.parse(body) as { model: string; messages: { content: string }[] };
    received.push({
      prompt: parsed.messages[0]?.content ?? '',
      model: parsed.model,
      authorization: request.headers.authorization,
    });
    const next = script.shift() ?? { status: 200, reply: 'Correct' };
    if (next.delayMs === undefined) reply(response, parsed.model, next);
    // A slow judge: it answers after the delay unless the client timed out and hung up before.
    else setTimeout(() => request.socket.destroyed || reply(response, parsed.model, next), next.delayMs);
  });
}

function reply(response: ServerResponse, model: string, next: (typeof script)[number]) {
  if (next.status !== 200) {
    response.writeHead(next.status, next.retryAfter === undefined ? {} : { 'retry-after': next.retryAfter });
    response.end(JSON.stringify({ error: { message: 'scripted failure' } }));
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      id: 'judge-1',
      object: 'chat.completion',
      model,
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: next.reply } }],
    }),
  );
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const item: BenchmarkItem = {
  id: 'hotpotqa-0',
  question: 'Which city hosts the Eiffel Tower?',
  references: ['Paris', 'Paris, France'],
  answerKind: 'text',
  dataSource: 'hotpotqa',
  metadata: {},
  location: { file: 'inline', line: 1, record: 0 },
};
const response = '<answer>\\boxed{the French capital}</answer>';

describe('LLM-as-judge scorer over a loopback OpenAI-compatible server', () => {
  it('parses verdicts: correct iff it says correct and not incorrect', () => {
    expect(parseJudgeVerdict('Correct')).toBe(true);
    expect(parseJudgeVerdict('{"judgement": "correct"}')).toBe(true);
    expect(parseJudgeVerdict('Incorrect')).toBe(false);
    expect(parseJudgeVerdict('not sure')).toBe(false);
    // Whole words and negations: "Not correct" and friends are not a "correct".
    expect(parseJudgeVerdict('Not correct')).toBe(false);
    expect(parseJudgeVerdict('NOT CORRECT.')).toBe(false);
    expect(parseJudgeVerdict("The prediction isn't correct")).toBe(false);
    expect(parseJudgeVerdict('The prediction isn’t entirely correct.')).toBe(false);
    expect(parseJudgeVerdict('No, not quite correct')).toBe(false);
    expect(parseJudgeVerdict('Wrong')).toBe(false);
    expect(parseJudgeVerdict('corrected')).toBe(false);
    expect(parseJudgeVerdict('Correct, not incorrect')).toBe(false);
    expect(parseJudgeVerdict('The predicted answer is correct.')).toBe(true);
    expect(parseJudgeVerdict('**Correct**')).toBe(true);
    expect(parseJudgeVerdict('Verdict: correct (it is not a different city)')).toBe(true);
  });

  it('asks the judge with the question, references and prediction, and follows its verdict', async () => {
    const scorer = createLlmJudgeScorer({ baseUrl, model: 'judge-model', apiKey: 'secret', retryDelayMs: 1 });
    script.push({ status: 200, reply: 'Correct' }, { status: 200, reply: 'Incorrect' });
    received.length = 0;
    expect(await scorer.score({ item, response })).toMatchObject({
      correct: true,
      method: 'judge',
      extracted: 'the French capital',
    });
    expect(await scorer.score({ item, response })).toMatchObject({ correct: false, method: 'judge' });
    expect(received[0]?.model).toBe('judge-model');
    expect(received[0]?.authorization).toBe('Bearer secret');
    expect(received[0]?.prompt).toContain('Which city hosts the Eiffel Tower?');
    expect(received[0]?.prompt).toContain('"Paris, France"');
    expect(received[0]?.prompt).toContain('"the French capital"');
  });

  it('retries 429 and 500 and then uses the answer', async () => {
    const scorer = createLlmJudgeScorer({ baseUrl, model: 'judge-model', retryDelayMs: 1 });
    script.push({ status: 429, retryAfter: '0' }, { status: 500 }, { status: 200, reply: 'Correct' });
    received.length = 0;
    expect(await scorer.score({ item, response })).toMatchObject({ correct: true, method: 'judge' });
    expect(received).toHaveLength(3);
  });

  it('retries a request that times out and then uses the answer', async () => {
    const scorer = createLlmJudgeScorer({ baseUrl, model: 'judge-model', timeoutMs: 150, retryDelayMs: 1 });
    script.push({ status: 200, reply: 'Incorrect', delayMs: 1_000 }, { status: 200, reply: 'Not correct' });
    received.length = 0;
    const result = await scorer.score({ item, response });
    // The slow first reply ("Incorrect") was never read; the retried request's "Not correct" decided.
    expect(result).toMatchObject({ correct: false, method: 'judge' });
    expect(result.details?.judgeReply).toBe('Not correct');
    expect(received).toHaveLength(2);
    // Every attempt timing out: the rule scorer decides and the error names the timeout.
    const patient = createLlmJudgeScorer({ baseUrl, model: 'judge-model', timeoutMs: 100, maxRetries: 1 });
    script.push(
      { status: 200, reply: 'Incorrect', delayMs: 600 },
      { status: 200, reply: 'Incorrect', delayMs: 600 },
    );
    received.length = 0;
    const fallback = await patient.score({ item, response: '<answer>\\boxed{Paris}</answer>' });
    expect(fallback).toMatchObject({ correct: true, method: 'judge-fallback' });
    expect(fallback.details?.judgeError).toMatch(/gave up after 2 attempts \(.*(timeout|aborted).*\)/i);
    expect(received).toHaveLength(2);
  });

  it('falls back to the rule scorer when retries run out or the error is not retryable', async () => {
    const scorer = createLlmJudgeScorer({ baseUrl, model: 'judge-model', maxRetries: 1, retryDelayMs: 1 });
    script.push({ status: 503 }, { status: 503 });
    const exact = '<answer>\\boxed{paris}</answer>';
    const fallback = await scorer.score({ item, response: exact });
    expect(fallback).toMatchObject({ correct: true, method: 'judge-fallback' });
    expect(fallback.details?.judgeError).toMatch(/gave up after 2 attempts \(HTTP 503\)/);
    script.push({ status: 400 });
    received.length = 0;
    expect(await scorer.score({ item, response })).toMatchObject({
      correct: false,
      method: 'judge-fallback',
    });
    expect(received).toHaveLength(1);
    // Math items fall back to math equivalence.
    const math: BenchmarkItem = { ...item, answerKind: 'math', references: ['\\frac{1}{2}'] };
    script.push({ status: 500 }, { status: 500 });
    expect(await scorer.score({ item: math, response: '<answer>\\boxed{0.5}</answer>' })).toMatchObject({
      correct: true,
      method: 'judge-fallback',
    });
  });

  it('falls back when the server is unreachable, and skips the judge when there is no answer', async () => {
    const scorer = createLlmJudgeScorer({
      baseUrl: 'http://127.0.0.1:1/v1',
      model: 'm',
      maxRetries: 1,
      retryDelayMs: 1,
    });
    expect(await scorer.score({ item, response: '<answer>\\boxed{Paris}</answer>' })).toMatchObject({
      correct: true,
      method: 'judge-fallback',
    });
    received.length = 0;
    const live = createLlmJudgeScorer({ baseUrl, model: 'm' });
    expect(await live.score({ item, response: 'no answer at all' })).toMatchObject({
      correct: false,
      method: 'judge-no-answer',
    });
    expect(received).toHaveLength(0);
  });
});
