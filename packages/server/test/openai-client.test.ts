import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiServer, type OpenAiServer } from '../src/index.js';
import { createTinyPolicy } from './support-openai/tiny-policy.js';

let server: OpenAiServer;
let client: OpenAI;
let served: Awaited<ReturnType<typeof createTinyPolicy>>;

beforeAll(async () => {
  served = await createTinyPolicy();
  server = await createOpenAiServer({ policy: served.policy, modelId: 'tiny', apiKey: 'secret' });
  client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'secret', maxRetries: 0 });
});
afterAll(async () => {
  await server.close();
  await served.policy.close();
});

describe('the OpenAI server with the official openai client', () => {
  it('lists the model with its context length', async () => {
    const models = await client.models.list();
    const card = models.data[0] as unknown as { id: string; max_model_len: number };
    expect(card.id).toBe('tiny');
    expect(card.max_model_len).toBe(128);
  });

  it('completes a text prompt with logprobs, n and a seed, reproducibly', async () => {
    const request = {
      model: 'tiny',
      prompt: 'Once upon',
      max_tokens: 10,
      n: 2,
      seed: 42,
      logprobs: 3,
      temperature: 1,
    } as const;
    const first = await client.completions.create(request);
    const second = await client.completions.create(request);
    expect(first.choices).toHaveLength(2);
    expect(first.choices.map((choice) => choice.text)).toEqual(second.choices.map((choice) => choice.text));
    const choice = first.choices[0];
    expect(choice?.logprobs?.tokens?.length).toBeGreaterThan(0);
    expect(choice?.logprobs?.token_logprobs?.length).toBe(choice?.logprobs?.tokens?.length);
    expect(Object.keys(choice?.logprobs?.top_logprobs?.[0] ?? {}).length).toBeLessThanOrEqual(3);
    expect(first.usage?.prompt_tokens).toBe(
      served.tokenizer.encode('Once upon', { addSpecialTokens: true }).length,
    );
    expect(first.usage?.completion_tokens).toBe(
      first.choices.reduce((sum, entry) => sum + (entry.logprobs?.tokens?.length ?? 0), 0),
    );
  });

  it('accepts token-id prompts and returns token ids, the fired stop string and exact entropies', async () => {
    const prompt = Array.from(served.tokenizer.encode('abc', { addSpecialTokens: true }));
    const free = await client.completions.create({ model: 'tiny', prompt, max_tokens: 12, temperature: 0 });
    const text = free.choices[0]?.text ?? '';
    const stop = [...text].find((character) => character.trim() !== '') ?? 'a';
    const body = {
      model: 'tiny',
      prompt,
      max_tokens: 12,
      temperature: 0,
      stop: [stop],
      logprobs: 0,
      return_tokens_as_token_ids: true,
      include_stop_str_in_output: true,
    };
    const stopped = (await client.completions.create(body as never)) as unknown as {
      choices: {
        text: string;
        finish_reason: string;
        stop_reason: string | null;
        logprobs: { tokens: string[]; token_entropies: number[] };
      }[];
    };
    const choice = stopped.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.stop_reason).toBe(stop);
    expect(choice?.text.endsWith(stop)).toBe(true);
    expect(choice?.logprobs.tokens.every((token) => /^token_id:\d+$/.test(token))).toBe(true);
    expect(choice?.logprobs.token_entropies).toHaveLength(choice?.logprobs.tokens.length ?? -1);
    // Without include_stop_str_in_output the stop string is cut from the text, as OpenAI and vLLM do.
    const cut = await client.completions.create({ ...body, include_stop_str_in_output: false } as never);
    expect((cut as unknown as { choices: { text: string }[] }).choices[0]?.text).toBe(
      choice?.text.slice(0, -stop.length),
    );
  });

  it('applies the chat template for chat completions', async () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const chat = await client.chat.completions.create({
      model: 'tiny',
      messages,
      max_tokens: 6,
      seed: 3,
      logprobs: true,
      top_logprobs: 2,
    });
    const templated = served.tokenizer.applyChatTemplate?.(messages, { addGenerationPrompt: true });
    const expected = await client.completions.create({
      model: 'tiny',
      prompt: Array.from(templated ?? []),
      max_tokens: 6,
      seed: 3,
    });
    expect(chat.choices[0]?.message.content).toBe(expected.choices[0]?.text);
    expect(chat.choices[0]?.logprobs?.content?.[0]?.top_logprobs).toHaveLength(2);
  });

  it('streams completions and chat over SSE, ending with the same text as without streaming', async () => {
    const request = { model: 'tiny', prompt: 'stream me', max_tokens: 12, seed: 9 };
    const whole = await client.completions.create(request);
    const stream = await client.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(whole.choices[0]?.text);
    expect(finish).toBe(whole.choices[0]?.finish_reason);
    expect(usage).toMatchObject({ completion_tokens: whole.usage?.completion_tokens });

    const chatStream = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'hey' }],
      max_tokens: 8,
      seed: 1,
      stream: true,
    });
    let content = '';
    for await (const chunk of chatStream) content += chunk.choices[0]?.delta.content ?? '';
    const chat = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'hey' }],
      max_tokens: 8,
      seed: 1,
    });
    expect(content).toBe(chat.choices[0]?.message.content);
  });

  it('gathers concurrent requests into batched generate calls with the same results as one at a time', async () => {
    const before = server.statistics();
    const prompts = Array.from({ length: 12 }, (_, index) => `prompt number ${index}`);
    const concurrent = await Promise.all(
      prompts.map((prompt, index) =>
        client.completions.create({ model: 'tiny', prompt, max_tokens: 8, seed: index }),
      ),
    );
    const after = server.statistics();
    expect(after.requests - before.requests).toBe(12);
    expect(after.batches - before.batches).toBeLessThan(12);
    for (const [index, prompt] of prompts.entries()) {
      const alone = await client.completions.create({ model: 'tiny', prompt, max_tokens: 8, seed: index });
      expect(concurrent[index]?.choices[0]?.text).toBe(alone.choices[0]?.text);
    }
  });

  it('rejects a wrong API key with 401', async () => {
    const stranger = new OpenAI({ baseURL: server.baseUrl, apiKey: 'wrong', maxRetries: 0 });
    await expect(stranger.models.list()).rejects.toMatchObject({ status: 401 });
  });
});
