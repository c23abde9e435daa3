import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiServer, type OpenAiServer } from '../src/index.js';
import { GatedPolicy } from './support-openai/gated-policy.js';
import { ScriptedTextPolicy } from './support-openai/scripted-text-policy.js';
import { createTinyPolicy } from './support-openai/tiny-policy.js';

let served: Awaited<ReturnType<typeof createTinyPolicy>>;
const servers: OpenAiServer[] = [];

beforeAll(async () => {
  served = await createTinyPolicy();
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await served.policy.close();
});

async function start(options: Parameters<typeof createOpenAiServer>[0]) {
  const server = await createOpenAiServer({ modelId: 'tiny', ...options });
  servers.push(server);
  return { server, client: new OpenAI({ baseURL: server.baseUrl, apiKey: 'none', maxRetries: 0 }) };
}

/** Deep equality, numbers within 1e-5 (see the prefix-cache note where it is used). */
function expectClose(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number') {
    expect(typeof actual, path).toBe('number');
    expect(Math.abs((actual as number) - expected), path).toBeLessThan(1e-5);
    return;
  }
  if (typeof expected !== 'object' || expected === null) {
    expect(actual, path).toEqual(expected);
    return;
  }
  expect(typeof actual, path).toBe('object');
  const entries = Object.entries(expected as Record<string, unknown>);
  expect(Object.keys(actual as object).sort(), path).toEqual(entries.map(([key]) => key).sort());
  for (const [key, value] of entries)
    expectClose((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
}

interface CompletionChoiceChunk {
  index: number;
  text: string;
  finish_reason: string | null;
  logprobs: {
    tokens: string[];
    token_logprobs: number[];
    top_logprobs: unknown[];
    text_offset: number[];
  } | null;
}

describe('streaming from arpo serve as tokens are decoded', () => {
  it('delivers token chunks to the openai client while the policy is still generating', async () => {
    const gated = new GatedPolicy(served.policy, { pauseAfter: 3 });
    const { client } = await start({ policy: gated });
    const stream = await client.completions.create({
      model: 'tiny',
      prompt: 'Stream this, please',
      max_tokens: 12,
      seed: 4,
      stream: true,
    });
    let tokenChunks = 0;
    let seenWhilePaused: { running: number; events: number } | undefined;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.finish_reason !== null) continue;
      tokenChunks++;
      if (tokenChunks === 3) {
        // The decode loop is held after token 3 until released: this chunk can only have come live.
        seenWhilePaused = { running: gated.running, events: gated.events.length };
        gated.release();
      }
    }
    expect(seenWhilePaused).toEqual({ running: 1, events: 3 });
    expect(tokenChunks).toBe(gated.events.length);
    expect(tokenChunks).toBeGreaterThan(3);
  });

  it('streams n > 1 choices of several prompts in one batched call, equal to the non-streamed response', async () => {
    const gated = new GatedPolicy(served.policy);
    const { client } = await start({ policy: gated });
    const request = {
      model: 'tiny',
      prompt: ['first prompt', 'second prompt'],
      max_tokens: 10,
      n: 2,
      seed: 8,
      logprobs: 2,
    };
    const whole = await client.completions.create(request);
    const stream = await client.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts = ['', '', '', ''];
    const finishes: (string | null)[] = [null, null, null, null];
    const logprobs = texts.map(() => ({
      tokens: [] as string[],
      token_logprobs: [] as number[],
      top_logprobs: [] as unknown[],
      text_offset: [] as number[],
    }));
    let usage: unknown;
    for await (const raw of stream) {
      usage = raw.usage ?? usage;
      for (const choice of raw.choices as unknown as CompletionChoiceChunk[]) {
        texts[choice.index] += choice.text;
        finishes[choice.index] = choice.finish_reason ?? finishes[choice.index] ?? null;
        if (choice.logprobs !== null) {
          const into = logprobs[choice.index]!;
          into.tokens.push(...choice.logprobs.tokens);
          into.token_logprobs.push(...choice.logprobs.token_logprobs);
          into.top_logprobs.push(...choice.logprobs.top_logprobs);
          into.text_offset.push(...choice.logprobs.text_offset);
        }
      }
    }
    expect(gated.calls).toBe(2);
    expect(texts).toEqual(whole.choices.map((choice) => choice.text));
    expect(finishes).toEqual(whole.choices.map((choice) => choice.finish_reason));
    // Close, not equal: the streamed call finds the prompts in the prefix cache, and logits after a cached
    // prefix differ from a fresh prefill in the last float32 bits.
    expectClose(
      logprobs,
      whole.choices.map((choice) => ({
        tokens: choice.logprobs?.tokens,
        token_logprobs: choice.logprobs?.token_logprobs,
        top_logprobs: choice.logprobs?.top_logprobs,
        text_offset: choice.logprobs?.text_offset,
      })),
    );
    // Equal but for cached_tokens: the streamed call reuses the prompts the first call left in the prefix cache.
    expect(usage).toMatchObject({
      prompt_tokens: whole.usage?.prompt_tokens,
      completion_tokens: whole.usage?.completion_tokens,
      total_tokens: whole.usage?.total_tokens,
    });
  });

  it('streams chat deltas and logprobs equal to the non-streamed message', async () => {
    const { client } = await start({ policy: served.policy });
    const request = {
      model: 'tiny',
      messages: [{ role: 'user' as const, content: 'hello there' }],
      max_tokens: 9,
      seed: 2,
      logprobs: true,
      top_logprobs: 2,
    };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let content = '';
    let role: string | undefined;
    const tokens: unknown[] = [];
    for await (const chunk of stream) {
      role ??= chunk.choices[0]?.delta.role;
      content += chunk.choices[0]?.delta.content ?? '';
      tokens.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    }
    expect(role).toBe('assistant');
    expect(content).toBe(whole.choices[0]?.message.content);
    expectClose(tokens, whole.choices[0]?.logprobs?.content);
  });

  it('batches concurrent streamed requests into one generate call and routes each token to its response', async () => {
    const gated = new GatedPolicy(served.policy);
    // The batch flushes as soon as 3 sequences are queued; the long window only keeps them together.
    const { client } = await start({ policy: gated, maxBatch: 3, gatherWindowMs: 60_000 });
    const prompts = ['alpha', 'beta beta', 'gamma gamma gamma'];
    const streamed = await Promise.all(
      prompts.map(async (prompt, index) => {
        const stream = await client.completions.create({
          model: 'tiny',
          prompt,
          max_tokens: 8,
          seed: 20 + index,
          stream: true,
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
        return text;
      }),
    );
    expect(gated.calls).toBe(1);
    const expected = await gated.generate(
      prompts.map((prompt, index) => ({
        promptTokenIds: served.tokenizer.encode(prompt, { addSpecialTokens: true }),
        sampling: { maxTokens: 8, seed: 20 + index },
      })),
    );
    expect(streamed).toEqual(expected.map((result) => result.sequences[0]?.text));
  });

  it('decodes multi-byte UTF-8 split across tokens and holds back a possible stop string', async () => {
    const text = 'héllo, 世界 🎉 done<end>';
    const { client } = await start({
      policy: new ScriptedTextPolicy({ text, stopString: '<end>' }),
      modelId: 'scripted',
    });
    const deltas: string[] = [];
    const stream = await client.completions.create({
      model: 'scripted',
      prompt: 'x',
      max_tokens: 64,
      stop: ['<end>'],
      stream: true,
    });
    for await (const chunk of stream) deltas.push(chunk.choices[0]?.text ?? '');
    // One chunk per byte token plus the finish chunk; no delta carries a broken character or the stop string.
    expect(deltas).toHaveLength(Buffer.byteLength(text) + 1);
    expect(deltas.some((delta) => delta.includes('\uFFFD'))).toBe(false);
    expect(deltas.join('')).toBe('héllo, 世界 🎉 done');
    expect(deltas).toContain('🎉');
    expect(deltas.some((delta) => delta.includes('<'))).toBe(false);

    const kept = await client.completions.create({
      model: 'scripted',
      prompt: 'x',
      max_tokens: 64,
      stop: ['<end>'],
      include_stop_str_in_output: true,
      stream: true,
    } as never);
    let all = '';
    for await (const chunk of kept as unknown as AsyncIterable<{ choices: { text: string }[] }>)
      all += chunk.choices[0]?.text ?? '';
    expect(all).toBe(text);
  });

  it('aborts the generation of a client that disconnects mid-stream and keeps serving', async () => {
    const gated = new GatedPolicy(served.policy, { pauseAfter: 2, untilAborted: true });
    const { server, client } = await start({ policy: gated });
    const stream = await client.completions.create({
      model: 'tiny',
      prompt: 'a long answer',
      max_tokens: 40,
      seed: 6,
      stream: true,
    });
    let received = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.finish_reason === null) received++;
      // Leaving the loop closes the connection; the paused loop resumes only when its signal aborts.
      if (received === 2) break;
    }
    await server.close().catch(() => undefined);
    servers.splice(servers.indexOf(server), 1);
    const [result] = gated.results[0] ?? [];
    expect(result?.sequences[0]?.finishReason).toBe('abort');
    expect(result?.sequences[0]?.tokenIds).toHaveLength(2);
    expect(server.statistics().errors).toEqual({});
  });

  it('stops writing to a disconnected client without disturbing the others in its batch', async () => {
    const gated = new GatedPolicy(served.policy, { pauseAfter: 2 });
    const { server, client } = await start({ policy: gated, maxBatch: 2, gatherWindowMs: 60_000 });
    const body = { model: 'tiny', max_tokens: 10, stream: true as const };
    const [leaving, staying] = await Promise.all([
      client.completions.create({ ...body, prompt: 'leave early', seed: 1 }),
      client.completions.create({ ...body, prompt: 'stay to the end', seed: 2 }),
    ]);
    for await (const chunk of leaving) if (chunk.choices[0]?.finish_reason === null) break;
    // A round trip after the disconnect, so the server has seen the closed socket before decoding resumes.
    await fetch(`${server.url}/health`);
    gated.release();
    let text = '';
    for await (const chunk of staying) text += chunk.choices[0]?.text ?? '';
    const [, stayed] = gated.results[0] ?? [];
    expect(gated.calls).toBe(1);
    expect(stayed?.sequences[0]?.finishReason).not.toBe('abort');
    expect(text).toBe(stayed?.sequences[0]?.text);
    // n: 2 fills the batch (maxBatch 2), so it does not wait out the gather window.
    const after = await client.completions.create({
      model: 'tiny',
      prompt: 'still up?',
      max_tokens: 3,
      n: 2,
    });
    expect(after.choices).toHaveLength(2);
    expect(server.statistics().errors).toEqual({});
  });
});
