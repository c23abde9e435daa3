import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiServer, type OpenAiServer } from '../src/index.js';
import { createTinyPolicy } from './support-openai/tiny-policy.js';

let server: OpenAiServer;
let served: Awaited<ReturnType<typeof createTinyPolicy>>;

async function post(path: string, body: string) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: (await response.json()) as { error?: Record<string, unknown> } };
}

async function stillServes() {
  const result = await post('/completions', JSON.stringify({ model: 'tiny', prompt: 'ok', max_tokens: 2 }));
  expect(result.status).toBe(200);
}

beforeAll(async () => {
  served = await createTinyPolicy({ contextLength: 64 });
  server = await createOpenAiServer({
    policy: served.policy,
    modelId: 'tiny',
    additionalHandlers: [
      async (request: IncomingMessage, response: ServerResponse) => {
        if (request.url !== '/extra') return false;
        response.end('extra');
        return true;
      },
    ],
  });
});
afterAll(async () => {
  await server.close();
  await served.policy.close();
});

describe('malformed requests get 400-class OpenAI-shaped errors and the server keeps serving', () => {
  const cases: { name: string; path?: string; body: string; status: number; param?: string; code: string }[] =
    [
      { name: 'bad JSON', body: '{"model": "tiny", "prompt": ', status: 400, code: 'invalid_json' },
      { name: 'a JSON array body', body: '[1, 2]', status: 400, code: 'invalid_body' },
      {
        name: 'an unknown model',
        body: JSON.stringify({ model: 'gpt-9', prompt: 'hi' }),
        status: 404,
        param: 'model',
        code: 'model_not_found',
      },
      {
        name: 'a missing model',
        body: JSON.stringify({ prompt: 'hi' }),
        status: 400,
        param: 'model',
        code: 'invalid_parameter',
      },
      {
        name: 'a negative temperature',
        body: JSON.stringify({ model: 'tiny', prompt: 'hi', temperature: -1 }),
        status: 400,
        param: 'temperature',
        code: 'invalid_parameter',
      },
      {
        name: 'top_p above 1',
        body: JSON.stringify({ model: 'tiny', prompt: 'hi', top_p: 1.5 }),
        status: 400,
        param: 'top_p',
        code: 'invalid_parameter',
      },
      {
        name: 'zero max_tokens',
        body: JSON.stringify({ model: 'tiny', prompt: 'hi', max_tokens: 0 }),
        status: 400,
        param: 'max_tokens',
        code: 'invalid_parameter',
      },
      {
        name: 'too many logprobs',
        body: JSON.stringify({ model: 'tiny', prompt: 'hi', logprobs: 21 }),
        status: 400,
        param: 'logprobs',
        code: 'invalid_parameter',
      },
      {
        name: 'a token id outside the vocabulary',
        body: JSON.stringify({ model: 'tiny', prompt: [5, 99999] }),
        status: 400,
        param: 'prompt[1]',
        code: 'invalid_parameter',
      },
      {
        name: 'a prompt of the wrong type',
        body: JSON.stringify({ model: 'tiny', prompt: { text: 'hi' } }),
        status: 400,
        param: 'prompt',
        code: 'invalid_parameter',
      },
      {
        name: 'an oversized prompt',
        body: JSON.stringify({ model: 'tiny', prompt: 'x'.repeat(200) }),
        status: 400,
        param: 'prompt',
        code: 'context_length_exceeded',
      },
      {
        name: 'chat messages with an unknown role',
        path: '/chat/completions',
        body: JSON.stringify({ model: 'tiny', messages: [{ role: 'robot', content: 'hi' }] }),
        status: 400,
        param: 'messages.0.role',
        code: 'invalid_parameter',
      },
    ];
  for (const entry of cases) {
    it(`answers ${entry.name} with ${entry.status}`, async () => {
      const result = await post(entry.path ?? '/completions', entry.body);
      expect(result.status).toBe(entry.status);
      expect(result.body.error).toMatchObject({
        code: entry.code,
        param: entry.param ?? null,
        type: 'invalid_request_error',
      });
      expect(typeof result.body.error?.message).toBe('string');
      await stillServes();
    });
  }

  it('answers unknown routes with 404 and the openai client sees typed errors', async () => {
    const response = await fetch(`${server.baseUrl}/engines`);
    expect(response.status).toBe(404);
    const client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'none', maxRetries: 0 });
    await expect(client.completions.create({ model: 'nope', prompt: 'x' })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    await expect(client.completions.create({ model: 'tiny', prompt: 'x', top_p: 2 })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    await stillServes();
  });

  it('tries additional handlers first', async () => {
    const response = await fetch(`${server.url}/extra`);
    expect(await response.text()).toBe('extra');
  });
});

describe('queue limits and graceful shutdown', () => {
  it('answers 429 when the queue is full, serves everything it accepted, and drains on shutdown', async () => {
    const own = await createTinyPolicy();
    const small = await createOpenAiServer({ policy: own.policy, modelId: 'tiny', maxQueue: 2, maxBatch: 1 });
    const send = () =>
      fetch(`${small.baseUrl}/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'tiny', prompt: 'queue', max_tokens: 24, seed: 1 }),
      });
    const responses = await Promise.all(Array.from({ length: 12 }, send));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    const limited = responses.find((response) => response.status === 429);
    expect(limited?.headers.get('retry-after')).toBe('1');
    const limitedBody = (await limited?.json()) as { error?: { code?: string } } | undefined;
    expect(limitedBody?.error?.code).toBe('queue_full');
    // The server's own counters agree with what the clients saw, status by status.
    const counted = small.statistics();
    expect(counted.responses['200']).toBe(statuses.filter((status) => status === 200).length);
    expect(counted.responses['429']).toBe(statuses.filter((status) => status === 429).length);
    expect(counted.rejectedQueueFull).toBe(counted.responses['429']);
    const overHttp = (await (await fetch(`${small.url}/statistics`)).json()) as { responses: object };
    expect(overHttp.responses).toEqual(counted.responses);

    // More prompts in one request than the queue can ever hold: a 400 naming the limit, not a 429 forever.
    const oversized = await fetch(`${small.baseUrl}/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'tiny', prompt: ['a', 'b', 'c'], max_tokens: 2 }),
    });
    expect(oversized.status).toBe(400);
    const oversizedBody = (await oversized.json()) as {
      error: { code: string; param: string; message: string };
    };
    expect(oversizedBody.error.code).toBe('too_many_prompts');
    expect(oversizedBody.error.param).toBe('prompt');
    expect(oversizedBody.error.message).toContain('at most 2 (maxQueue)');

    // Shutdown drains: requests accepted before close() complete with 200.
    const agent = fetch(`${small.baseUrl}/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'tiny', prompt: 'drain', max_tokens: 24, seed: 2 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closing = small.close();
    const inFlight = await agent;
    expect(inFlight.status).toBe(200);
    await closing;
    await expect(fetch(`${small.baseUrl}/models`)).rejects.toThrow();
    await own.policy.close();
  });
});
