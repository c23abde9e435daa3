import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AbortedError } from '@arpo/core';
import { createByteTokenizer } from '@arpo/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RemotePolicy } from './remote-policy.js';
import { RemotePolicyError } from './remote-policy-error.js';

// RemotePolicy against a vLLM-like fake server on loopback (real node:http): the answers are shaped as vLLM sends
// them (no ARPO.ts extensions, `token_id:<id>` strings only when asked, the sampled token added to top_logprobs),
// and each request can be told to fail the way real servers and networks fail.

const tokenizer = createByteTokenizer();
const completionText = 'hi';

/** What the fake server does with one `/v1/completions` request. */
type Behaviour =
  | { kind: 'answer'; plainTokens?: boolean; endWithEos?: boolean }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'hold-until'; inFlight: number };

interface Arrival {
  at: number;
  body: Record<string, unknown>;
  closed: Promise<void>;
}

/** The full next-token distribution the fake server reports at every position (over 259 byte tokens). */
function distribution(sampledId: number): { probabilities: Map<number, number>; truth: number } {
  const probabilities = new Map<number, number>();
  const likely = [tokenizer.encode('a')[0], tokenizer.encode('b')[0], tokenizer.encode('c')[0]] as number[];
  for (const [index, probability] of [0.3, 0.2, 0.1].entries())
    probabilities.set(likely[index] as number, probability);
  probabilities.set(sampledId, 1e-6);
  const others = tokenizer.vocabularySize - probabilities.size;
  const rest = (1 - 0.6 - 1e-6) / others;
  let truth = -0.3 * Math.log(0.3) - 0.2 * Math.log(0.2) - 0.1 * Math.log(0.1) - 1e-6 * Math.log(1e-6);
  truth -= others * rest * Math.log(rest);
  return { probabilities, truth };
}

class FakeVllmServer {
  readonly arrivals: Arrival[] = [];
  private readonly behaviours: Behaviour[] = [];
  private server: Server | undefined;
  private inFlight = 0;
  maxInFlight = 0;
  private readonly held: (() => void)[] = [];
  url = '';

  script(...behaviours: Behaviour[]): void {
    this.behaviours.push(...behaviours);
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.url === '/v1/models') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ object: 'list', data: [{ id: 'fake', object: 'model', max_model_len: 64 }] }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const closed = new Promise<void>((resolve) => response.on('close', () => resolve()));
    this.arrivals.push({ at: performance.now(), body, closed });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    // Counted out when the answer is written (before the client can send its next request) or the socket closes.
    let counted = true;
    const done = () => {
      if (counted) this.inFlight--;
      counted = false;
    };
    response.once('finish', done);
    void closed.then(done);
    const behaviour = this.behaviours.shift() ?? { kind: 'answer' };
    if (behaviour.kind === 'reset') return void request.socket.destroy();
    if (behaviour.kind === 'hang') return;
    if (behaviour.kind === 'status') {
      response.writeHead(behaviour.status, {
        'content-type': 'application/json',
        ...(behaviour.retryAfter === undefined ? {} : { 'retry-after': behaviour.retryAfter }),
      });
      response.end(JSON.stringify({ error: { message: `scripted ${behaviour.status}`, type: 'error' } }));
      return;
    }
    if (behaviour.kind === 'hold-until') {
      // Answer once `inFlight` requests are here together (or after 5 s, so a broken limiter fails, not hangs).
      await new Promise<void>((resolve) => {
        this.held.push(resolve);
        if (this.inFlight >= behaviour.inFlight) for (const release of this.held.splice(0)) release();
        setTimeout(resolve, 5_000).unref();
      });
    }
    this.answer(body, response, behaviour.kind === 'answer' ? behaviour : { kind: 'answer' });
  }

  /** A vLLM completion of `completionText` (plus EOS if asked), one choice per `n`. */
  private answer(
    body: Record<string, unknown>,
    response: ServerResponse,
    behaviour: Extract<Behaviour, { kind: 'answer' }>,
  ): void {
    const ids = Array.from(tokenizer.encode(completionText));
    if (behaviour.endWithEos) ids.push(tokenizer.specialTokens.eos);
    const asIds = body.return_tokens_as_token_ids === true && behaviour.plainTokens !== true;
    const tokenString = (id: number) =>
      asIds ? `token_id:${id}` : id === tokenizer.specialTokens.eos ? '' : tokenizer.decode([id]);
    const k = Number(body.logprobs ?? 0);
    const choices = Array.from({ length: Number(body.n ?? 1) }, (_, index) => ({
      index,
      text: completionText,
      finish_reason: behaviour.endWithEos ? 'stop' : 'length',
      stop_reason: null,
      logprobs: {
        tokens: ids.map(tokenString),
        token_logprobs: ids.map(() => Math.log(1e-6)),
        text_offset: ids.map((_, position) => position),
        // vLLM: the k most likely, plus the sampled token when it is not among them (k + 1 entries).
        top_logprobs: ids.map((id) => {
          const entries = [...distribution(id).probabilities].sort((first, second) => second[1] - first[1]);
          const top = entries.slice(0, k);
          if (!top.some(([token]) => token === id)) top.push([id, 1e-6]);
          return Object.fromEntries(
            top.map(([token, probability]) => [tokenString(token), Math.log(probability)]),
          );
        }),
      },
    }));
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        id: 'cmpl-fake',
        object: 'text_completion',
        model: 'fake',
        choices,
        usage: { prompt_tokens: (body.prompt as number[]).length, completion_tokens: ids.length },
      }),
    );
  }

  async close(): Promise<void> {
    for (const release of this.held.splice(0)) release();
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}

let fake: FakeVllmServer;

async function connect(options: Partial<Parameters<typeof RemotePolicy.create>[0]> = {}) {
  fake = new FakeVllmServer();
  await fake.start();
  return RemotePolicy.create({
    endpoints: fake.url,
    model: 'fake',
    tokenizer,
    initialRetryDelayMs: 1,
    ...options,
  });
}

const request = (seed = 1) => ({
  promptTokenIds: tokenizer.encode('prompt', { addSpecialTokens: true }),
  sampling: { maxTokens: 4, seed },
});

afterEach(async () => {
  await fake?.close();
});

describe('RemotePolicy against a vLLM-like server', () => {
  it('honours Retry-After on 429: the retry waits at least as long as the server asked', async () => {
    const policy = await connect();
    fake.script({ kind: 'status', status: 429, retryAfter: '1' });
    const [result] = await policy.generate([request()]);
    expect(Array.from(result?.sequences[0]?.tokenIds ?? [])).toEqual(
      Array.from(tokenizer.encode(completionText)),
    );
    expect(fake.arrivals).toHaveLength(2);
    // Without Retry-After the first backoff would be ~1 ms (initialRetryDelayMs); the server asked for 1 s.
    const gap = (fake.arrivals[1]?.at ?? 0) - (fake.arrivals[0]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(950);
    expect(policy.statistics().retries).toBe(1);
  });

  it('retries a connection reset and an attempt that timed out, and sends the same body again', async () => {
    const policy = await connect({ timeoutMs: 300 });
    fake.script({ kind: 'reset' }, { kind: 'hang' });
    const [result] = await policy.generate([request(7)]);
    expect(result?.sequences[0]?.text).toBe(completionText);
    expect(fake.arrivals).toHaveLength(3);
    expect(policy.statistics().retries).toBe(2);
    // The hung attempt's connection was given up by the client (its timeout aborted the request).
    await fake.arrivals[1]?.closed;
    expect(fake.arrivals.map((arrival) => arrival.body.seed)).toEqual([7, 7, 7]);
  });

  it('does not retry a 400 and names the endpoint and status', async () => {
    const policy = await connect();
    fake.script({ kind: 'status', status: 400 });
    const failure = await policy.generate([request()]).catch((error: unknown) => error);
    expect(RemotePolicyError.isInstance(failure)).toBe(true);
    expect((failure as RemotePolicyError).status).toBe(400);
    expect((failure as RemotePolicyError).isRetryable).toBe(false);
    expect((failure as Error).message).toContain(`${fake.url} (HTTP 400): scripted 400`);
    expect(fake.arrivals).toHaveLength(1);
  });

  it('keeps at most maxConcurrency requests in flight: the server sees exactly the limit at once', async () => {
    const policy = await connect({ maxConcurrency: 3 });
    fake.script(...Array.from({ length: 9 }, () => ({ kind: 'hold-until' as const, inFlight: 3 })));
    const results = await policy.generate(Array.from({ length: 9 }, (_, index) => request(index)));
    expect(results).toHaveLength(9);
    expect(fake.arrivals).toHaveLength(9);
    expect(fake.maxInFlight).toBe(3);
  });

  it('cancels an in-flight request: AbortSignal aborts the HTTP request, with no retry', async () => {
    const policy = await connect();
    fake.script({ kind: 'hang' });
    const controller = new AbortController();
    const pending = policy.generate([request()], { signal: controller.signal });
    while (fake.arrivals.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const failure = await pending.catch((error: unknown) => error);
    expect(AbortedError.isInstance(failure)).toBe(true);
    // The server sees the connection go away: the request was really aborted, not left running.
    await fake.arrivals[0]?.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.arrivals).toHaveLength(1);
    expect(policy.statistics().retries).toBe(0);
  });

  it('re-tokenises plain token strings (no token ids) and restores the EOS the text omits', async () => {
    const policy = await connect({ tokenIds: 'retokenize' });
    fake.script(
      { kind: 'answer', plainTokens: true },
      { kind: 'answer', plainTokens: true, endWithEos: true },
    );
    const [plain] = await policy.generate([request()]);
    expect(fake.arrivals[0]?.body.return_tokens_as_token_ids).toBeUndefined();
    expect(Array.from(plain?.sequences[0]?.tokenIds ?? [])).toEqual(
      Array.from(tokenizer.encode(completionText)),
    );
    expect(plain?.sequences[0]?.finishReason).toBe('length');
    const [ending] = await policy.generate([request()]);
    expect(Array.from(ending?.sequences[0]?.tokenIds ?? [])).toEqual([
      ...tokenizer.encode(completionText),
      tokenizer.specialTokens.eos,
    ]);
    expect(ending?.sequences[0]?.finishReason).toBe('eos');
    // A server that ignores return_tokens_as_token_ids is read the same way by the default client.
    const fallback = await RemotePolicy.create({ endpoints: fake.url, model: 'fake', tokenizer });
    fake.script({ kind: 'answer', plainTokens: true });
    const [read] = await fallback.generate([request()]);
    expect(fake.arrivals.at(-1)?.body.return_tokens_as_token_ids).toBe(true);
    expect(Array.from(read?.sequences[0]?.tokenIds ?? [])).toEqual(
      Array.from(tokenizer.encode(completionText)),
    );
  });

  it('reads vLLM top_logprobs with k+1 entries: the estimate stays below the true entropy', async () => {
    const policy = await connect({ maxTopLogprobs: 3 });
    expect(policy.capabilities.entropy).toBe('top-k-estimate');
    const [result] = await policy.generate([
      { ...request(), sampling: { ...request().sampling, topLogprobs: 3 } },
    ]);
    expect(fake.arrivals[0]?.body.logprobs).toBe(3);
    const sequence = result?.sequences[0];
    expect(sequence?.tokenIds.length).toBe(2);
    sequence?.tokenIds.forEach((id, position) => {
      const { truth } = distribution(id);
      const entropy = sequence.entropies[position] as number;
      expect(entropy).toBeLessThanOrEqual(truth);
      expect(entropy).toBeGreaterThan(0);
      // The returned alternatives are the top 3, most likely first; the sampled token (k+1-th entry) is dropped.
      expect(Array.from(sequence.topLogprobs?.[position]?.tokenIds ?? [])).toEqual(
        Array.from(tokenizer.encode('abc')),
      );
      expect(sequence.topLogprobs?.[position]?.logprobs[0]).toBeCloseTo(Math.log(0.3), 6);
    });
  });
});
