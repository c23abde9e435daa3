import type { ChatMessage, SamplingOptions, Tokenizer } from '@arpo/core';
import { renderDefaultChatTemplate } from '@arpo/policy';
import { z } from 'zod';
import { invalidParameter, OpenAiHttpError } from './openai-http-error.js';

/** A validated completion or chat request, with its prompts as token ids. */
export interface NormalizedRequest {
  kind: 'completion' | 'chat';
  model: string;
  prompts: Int32Array[];
  sampling: SamplingOptions;
  n: number;
  /** Top logprobs per position; undefined = no logprobs in the response. */
  logprobs: number | undefined;
  returnTokensAsTokenIds: boolean;
  includeStopStringInOutput: boolean;
  skipSpecialTokens: boolean;
  stream: boolean;
  includeUsage: boolean;
}

export interface RequestLimits {
  vocabularySize: number;
  contextLength: number;
  maxTopLogprobs: number;
  maxN: number;
}

const stopSchema = z.union([z.string().min(1), z.array(z.string().min(1)).max(64)]).nullish();

const sharedFields = {
  model: z.string({ error: 'is required (a model id from /v1/models)' }).min(1),
  max_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(100).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  // vLLM's extension; -1 and 0 mean off.
  top_k: z.number().int().min(-1).nullish(),
  n: z.number().int().positive().nullish(),
  seed: z.number().int().nullish(),
  stop: stopSchema,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  presence_penalty: z.literal(0).nullish(),
  frequency_penalty: z.literal(0).nullish(),
  logit_bias: z
    .record(z.string(), z.number())
    .refine((value) => Object.keys(value).length === 0, {
      message: 'is not supported',
    })
    .nullish(),
  user: z.string().nullish(),
  // vLLM extensions.
  return_tokens_as_token_ids: z.boolean().nullish(),
  include_stop_str_in_output: z.boolean().nullish(),
  skip_special_tokens: z.boolean().nullish(),
};

const completionSchema = z.object({
  ...sharedFields,
  prompt: z.unknown(),
  logprobs: z.number().int().min(0).nullish(),
  echo: z.literal(false).nullish(),
  best_of: z.number().int().positive().nullish(),
  suffix: z.null().optional(),
});

const contentPartSchema = z.object({ type: z.literal('text'), text: z.string() });
const chatSchema = z.object({
  ...sharedFields,
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
        content: z.union([z.string(), z.array(contentPartSchema)]),
      }),
    )
    .min(1),
  max_completion_tokens: z.number().int().positive().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).nullish(),
  tools: z
    .array(z.unknown())
    .max(0, 'are not supported: use /v1/completions with a tool-call protocol')
    .nullish(),
});

function check<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new OpenAiHttpError({
      status: 400,
      message: 'the body must be a JSON object',
      code: 'invalid_body',
    });
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue === undefined || issue.path.length === 0 ? '(body)' : issue.path.map(String).join('.');
  throw invalidParameter(param, issue?.message ?? 'is invalid');
}

/** Token ids of one prompt, checked in one pass (no per-element schema validation). */
function tokenArray(value: unknown[], param: string, limits: RequestLimits): Int32Array {
  const ids = new Int32Array(value.length);
  for (let index = 0; index < value.length; index++) {
    const id = value[index];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limits.vocabularySize) {
      throw invalidParameter(
        `${param}[${index}]`,
        `must be a token id in [0, ${limits.vocabularySize}), got ${JSON.stringify(id)}`,
      );
    }
    ids[index] = id;
  }
  return ids;
}

/** `prompt` as OpenAI allows it: a string, strings, token ids, or lists of token ids. */
function promptsOf(prompt: unknown, tokenizer: Tokenizer, limits: RequestLimits): Int32Array[] {
  if (typeof prompt === 'string') return [tokenizer.encode(prompt, { addSpecialTokens: true })];
  if (Array.isArray(prompt) && prompt.length > 0) {
    if (prompt.every((item) => typeof item === 'string'))
      return prompt.map((item) => tokenizer.encode(item as string, { addSpecialTokens: true }));
    if (prompt.every((item) => typeof item === 'number')) return [tokenArray(prompt, 'prompt', limits)];
    if (prompt.every((item) => Array.isArray(item)))
      return prompt.map((item, index) => tokenArray(item as unknown[], `prompt[${index}]`, limits));
  }
  throw invalidParameter(
    'prompt',
    'must be a non-empty string, array of strings, array of token ids or array of token-id arrays',
  );
}

function chatPrompt(messages: z.infer<typeof chatSchema>['messages'], tokenizer: Tokenizer): Int32Array {
  const converted: ChatMessage[] = messages.map((message) => ({
    role: message.role === 'developer' ? 'system' : message.role,
    content:
      typeof message.content === 'string'
        ? message.content
        : message.content.map((part) => part.text).join(''),
  }));
  if (tokenizer.applyChatTemplate !== undefined)
    return tokenizer.applyChatTemplate(converted, { addGenerationPrompt: true });
  // Tokenizers without a template get the project's default one.
  const { eos, bos } = tokenizer.specialTokens;
  const text = renderDefaultChatTemplate(converted, {
    addGenerationPrompt: true,
    eosToken: tokenizer.decode([eos]),
    ...(bos === undefined ? {} : { bosToken: tokenizer.decode([bos]) }),
  });
  return tokenizer.encode(text, { addSpecialTokens: false });
}

function checkPrompts(prompts: Int32Array[], limits: RequestLimits): void {
  prompts.forEach((prompt, index) => {
    if (prompt.length === 0)
      throw invalidParameter(prompts.length === 1 ? 'prompt' : `prompt[${index}]`, 'is empty');
    if (prompt.length >= limits.contextLength) {
      throw new OpenAiHttpError({
        status: 400,
        message: `This model's maximum context length is ${limits.contextLength} tokens; the prompt${prompts.length > 1 ? ` ${index}` : ''} has ${prompt.length} tokens (at least one token must be generated).`,
        param: 'prompt',
        code: 'context_length_exceeded',
      });
    }
  });
}

function samplingOf(
  body: z.infer<typeof completionSchema> | z.infer<typeof chatSchema>,
  maxTokens: number,
  topLogprobs: number | undefined,
): SamplingOptions {
  const sampling: SamplingOptions = { maxTokens };
  if (body.temperature != null) sampling.temperature = body.temperature;
  if (body.top_p != null) sampling.topP = body.top_p;
  if (body.top_k != null && body.top_k > 0) sampling.topK = body.top_k;
  if (body.seed != null) sampling.seed = body.seed;
  if (body.stop != null) sampling.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (topLogprobs !== undefined && topLogprobs > 0) sampling.topLogprobs = topLogprobs;
  return sampling;
}

function common(
  body: z.infer<typeof completionSchema> | z.infer<typeof chatSchema>,
  limits: RequestLimits,
): { n: number; stream: boolean } {
  const n = body.n ?? 1;
  if (n > limits.maxN) throw invalidParameter('n', `must be at most ${limits.maxN}, got ${n}`);
  return { n, stream: body.stream ?? false };
}

/** Validates a `/v1/completions` body (400 `OpenAiHttpError` naming the parameter otherwise). */
export function normalizeCompletionRequest(
  body: unknown,
  tokenizer: Tokenizer,
  limits: RequestLimits,
): NormalizedRequest {
  const parsed = check(completionSchema, body);
  const { n, stream } = common(parsed, limits);
  if (parsed.best_of != null && parsed.best_of !== n)
    throw invalidParameter('best_of', 'is not supported (only best_of = n)');
  if (parsed.logprobs != null && parsed.logprobs > limits.maxTopLogprobs)
    throw invalidParameter('logprobs', `must be at most ${limits.maxTopLogprobs}, got ${parsed.logprobs}`);
  const prompts = promptsOf(parsed.prompt, tokenizer, limits);
  checkPrompts(prompts, limits);
  const logprobs = parsed.logprobs ?? undefined;
  return {
    kind: 'completion',
    model: parsed.model,
    prompts,
    sampling: samplingOf(parsed, parsed.max_tokens ?? 16, logprobs),
    n,
    logprobs,
    returnTokensAsTokenIds: parsed.return_tokens_as_token_ids ?? false,
    includeStopStringInOutput: parsed.include_stop_str_in_output ?? false,
    skipSpecialTokens: parsed.skip_special_tokens ?? true,
    stream,
    includeUsage: parsed.stream_options?.include_usage ?? false,
  };
}

/** Validates a `/v1/chat/completions` body and renders its messages with the tokenizer's chat template. */
export function normalizeChatRequest(
  body: unknown,
  tokenizer: Tokenizer,
  limits: RequestLimits,
): NormalizedRequest {
  const parsed = check(chatSchema, body);
  const { n, stream } = common(parsed, limits);
  if (parsed.top_logprobs != null && parsed.top_logprobs > limits.maxTopLogprobs)
    throw invalidParameter(
      'top_logprobs',
      `must be at most ${limits.maxTopLogprobs}, got ${parsed.top_logprobs}`,
    );
  if (parsed.top_logprobs != null && parsed.top_logprobs > 0 && parsed.logprobs !== true)
    throw invalidParameter('top_logprobs', 'needs logprobs: true');
  const prompts = [chatPrompt(parsed.messages, tokenizer)];
  checkPrompts(prompts, limits);
  const logprobs = parsed.logprobs === true ? (parsed.top_logprobs ?? 0) : undefined;
  const maxTokens =
    parsed.max_completion_tokens ??
    parsed.max_tokens ??
    limits.contextLength - (prompts[0] as Int32Array).length;
  return {
    kind: 'chat',
    model: parsed.model,
    prompts,
    sampling: samplingOf(parsed, maxTokens, logprobs),
    n,
    logprobs,
    returnTokensAsTokenIds: parsed.return_tokens_as_token_ids ?? false,
    includeStopStringInOutput: parsed.include_stop_str_in_output ?? false,
    skipSpecialTokens: parsed.skip_special_tokens ?? true,
    stream,
    includeUsage: parsed.stream_options?.include_usage ?? false,
  };
}
