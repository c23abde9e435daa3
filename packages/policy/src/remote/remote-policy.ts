import {
  AbortedError,
  ContextLengthError,
  createRandom,
  type GeneratedSequence,
  type GenerationFinishReason,
  type GenerationRequest,
  type GenerationResult,
  InvalidArgumentError,
  lazySchema,
  type Policy,
  type PolicyCapabilities,
  type PolicyStatistics,
  parse,
  type Random,
  type Tokenizer,
} from '@arpo/core';
import { z } from 'zod';
import { resolveSamplingOptions } from '../sampling/sampling-settings.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import { type EndpointBalancing, EndpointPool } from './endpoint-pool.js';
import { RemotePolicyError } from './remote-policy-error.js';
import { RemoteTokenMismatchError } from './remote-token-mismatch-error.js';
import { topKEntropy } from './top-k-entropy.js';

export interface RemotePolicyOptions {
  /** Base URLs of OpenAI-compatible servers, including `/v1` (for example `http://127.0.0.1:8000/v1`). */
  endpoints: string | readonly string[];
  /** The `model` field sent with every request (as listed by `/v1/models`). */
  model: string;
  /** The model's tokenizer (the same one the server uses: token ids travel both ways). */
  tokenizer: Tokenizer;
  id?: string;
  /** Sent as `Authorization: Bearer …`. */
  apiKey?: string;
  /** Default: the server's `max_model_len` from `/v1/models`. */
  contextLength?: number;
  /** Default: the server's `arpo.vocabulary_size`, else the tokenizer's size. */
  vocabularySize?: number;
  /** Most top logprobs the server returns per position (vLLM's cap is 20). Default 20. */
  maxTopLogprobs?: number;
  /**
   * `server` (default): ask for vLLM's `return_tokens_as_token_ids` and read ids from `token_id:<id>` strings;
   * when a server answers with plain token strings, fall back to re-tokenising (with the check). `retokenize`:
   * always re-tokenise the returned text locally and check it.
   */
  tokenIds?: 'server' | 'retokenize';
  /** Endpoint choice. Default `least-loaded`. */
  balancing?: EndpointBalancing;
  /** HTTP requests in flight at most (over all endpoints). Default 64. */
  maxConcurrency?: number;
  /** Attempts per request (1 = no retry). Default 5. */
  attempts?: number;
  /** First retry delay; doubles per attempt, with jitter. Default 200 ms. */
  initialRetryDelayMs?: number;
  /** Longest backoff delay. Default 5 000 ms (a server's `Retry-After` is honoured up to 60 s). */
  maxRetryDelayMs?: number;
  /** Per-attempt timeout. Default 300 000 ms. */
  timeoutMs?: number;
  /** Prompts sharing at least this many tokens with a recent one go to the same endpoint. Default 32. */
  affinityTokens?: number;
  /** Seeds requests that carry none, and the retry jitter. Default 0. */
  seed?: number;
  /** The fetch implementation. Default: the global `fetch`. */
  fetch?: typeof fetch;
}

const remotePolicyOptionsSchema = lazySchema('remote policy options', () =>
  z.object({
    endpoints: z.union([z.string().url(), z.array(z.string().url()).min(1)]),
    model: z.string().min(1),
    id: z.string().min(1).optional(),
    apiKey: z.string().optional(),
    contextLength: z.number().int().positive().optional(),
    vocabularySize: z.number().int().positive().optional(),
    maxTopLogprobs: z.number().int().min(0).max(100).optional(),
    tokenIds: z.enum(['server', 'retokenize']).optional(),
    balancing: z.enum(['round-robin', 'least-loaded']).optional(),
    maxConcurrency: z.number().int().positive().optional(),
    attempts: z.number().int().positive().optional(),
    initialRetryDelayMs: z.number().nonnegative().optional(),
    maxRetryDelayMs: z.number().nonnegative().optional(),
    timeoutMs: z.number().positive().optional(),
    affinityTokens: z.number().int().positive().optional(),
    seed: z.number().int().optional(),
  }),
);

/** Counters of a `RemotePolicy`, beyond the `PolicyStatistics` every policy has. */
export interface RemotePolicyStatistics extends PolicyStatistics {
  /** HTTP attempts that were retried (429, 5xx, connection errors, timeouts). */
  retries: number;
  /**
   * Prompt tokens shared with an earlier prompt this client sent (branches resend their shared prefix; the
   * server's prefix cache is what skips it, and `reusedTokens` counts what the server reported reusing).
   */
  sharedPrefixTokens: number;
  endpoints: { url: string; inFlight: number; requests: number; failures: number }[];
}

/** What `/v1/models` says about a model (OpenAI fields, vLLM's `max_model_len`, ARPO.ts's `arpo` extension). */
interface ModelCard {
  id: string;
  max_model_len?: number;
  arpo?: { vocabulary_size?: number; entropy?: string };
}

interface CompletionChoice {
  index: number;
  text: string;
  finish_reason: string | null;
  stop_reason?: string | number | null;
  logprobs?: {
    tokens?: string[];
    token_logprobs?: (number | null)[];
    top_logprobs?: (Record<string, number> | null)[] | null;
    /** ARPO.ts extension: exact per-token entropy (nats) over the full vocabulary. */
    token_entropies?: number[];
  } | null;
}

interface CompletionResponse {
  choices: CompletionChoice[];
  usage?: { prompt_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null };
}

// As the official OpenAI SDKs: 408, 409 (they retry it as a lock timeout; vLLM and SGLang never send it), 429
// and 5xx; plus 425 Too Early. Other 4xx mean the request itself is wrong, and a retry cannot help.
const retryableStatuses = new Set([408, 409, 425, 429, 500, 502, 503, 504]);
/** The longest `Retry-After` honoured (a longer one is cut to this). */
const maxRetryAfterMs = 60_000;
const tokenIdPrefix = 'token_id:';

/**
 * A `Policy` over OpenAI-compatible completion servers (vLLM, SGLang, `arpo serve`).
 *
 * Each `GenerationRequest` becomes one `/v1/completions` call with the prompt as token ids, `n`, `seed`,
 * `stop` (kept in the output: `include_stop_str_in_output`), `logprobs` and, with `tokenIds: 'server'`,
 * `return_tokens_as_token_ids`. The fired stop string comes from vLLM's `stop_reason` (or, from servers without
 * it, the stop string the text ends with). Entropies are exact when the server sends ARPO.ts's `token_entropies`
 * extension (`arpo serve` does); otherwise they are the top-k estimate of `topKEntropy` (a lower bound, with the
 * upper bound documented there) from up to `maxTopLogprobs` alternatives. Failed attempts with 408/429/5xx,
 * connection errors or timeouts are retried with exponential backoff and jitter (honouring `Retry-After`),
 * preferably on another endpoint. Branch prompts share their prefix with the parent's; the client routes them to
 * the endpoint that saw that prefix (its prefix cache does the reuse) and reports the shared tokens.
 */
export class RemotePolicy implements Policy {
  readonly id: string;
  readonly tokenizer: Tokenizer;
  readonly vocabularySize: number;
  readonly contextLength: number;
  readonly capabilities: PolicyCapabilities;

  private readonly options: Required<
    Omit<
      RemotePolicyOptions,
      'endpoints' | 'tokenizer' | 'apiKey' | 'contextLength' | 'vocabularySize' | 'id'
    >
  > & { apiKey?: string };
  private readonly pool: EndpointPool;
  private readonly limiter: ConcurrencyLimiter;
  private readonly random: Random;
  private readonly exactEntropy: boolean;
  private readonly counters = {
    computedTokens: 0,
    reusedTokens: 0,
    generatedTokens: 0,
    requests: 0,
    retries: 0,
    sharedPrefixTokens: 0,
  };
  private closed = false;

  private constructor(
    options: RemotePolicyOptions,
    card: { contextLength: number; vocabularySize: number; exactEntropy: boolean },
  ) {
    const endpoints = typeof options.endpoints === 'string' ? [options.endpoints] : [...options.endpoints];
    this.id = options.id ?? `remote:${options.model}`;
    this.tokenizer = options.tokenizer;
    this.contextLength = card.contextLength;
    this.vocabularySize = card.vocabularySize;
    this.exactEntropy = card.exactEntropy;
    this.capabilities = {
      entropy: card.exactEntropy ? 'exact' : 'top-k-estimate',
      logits: false,
      trainable: false,
      prefixReuse: true,
    };
    this.options = {
      model: options.model,
      maxTopLogprobs: options.maxTopLogprobs ?? 20,
      tokenIds: options.tokenIds ?? 'server',
      balancing: options.balancing ?? 'least-loaded',
      maxConcurrency: options.maxConcurrency ?? 64,
      attempts: options.attempts ?? 5,
      initialRetryDelayMs: options.initialRetryDelayMs ?? 200,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 5_000,
      timeoutMs: options.timeoutMs ?? 300_000,
      affinityTokens: options.affinityTokens ?? 32,
      seed: options.seed ?? 0,
      fetch: options.fetch ?? globalThis.fetch,
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    };
    this.pool = new EndpointPool(
      endpoints.map((url) => url.replace(/\/+$/, '')),
      {
        balancing: this.options.balancing,
        affinityTokens: this.options.affinityTokens,
        affinitySlack: 4,
      },
    );
    this.limiter = new ConcurrencyLimiter(this.options.maxConcurrency);
    this.random = createRandom({ seed: this.options.seed });
  }

  /**
   * Connects: reads `/v1/models` of the first endpoint for the context length, the vocabulary size and whether
   * the server sends exact entropies (ARPO.ts extension), unless given. Rejects with `RemotePolicyError` when the
   * endpoint is unreachable or does not list the model.
   */
  static async create(options: RemotePolicyOptions): Promise<RemotePolicy> {
    const { tokenizer, fetch: fetchOption, ...checked } = options;
    parse(remotePolicyOptionsSchema, checked);
    const endpoints = typeof options.endpoints === 'string' ? [options.endpoints] : options.endpoints;
    const first = (endpoints[0] as string).replace(/\/+$/, '');
    const card = await fetchModelCard({
      endpoint: first,
      model: options.model,
      fetch: fetchOption ?? globalThis.fetch,
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    const contextLength = options.contextLength ?? card.max_model_len;
    if (contextLength === undefined) {
      throw new InvalidArgumentError({
        argument: 'contextLength',
        message: `${first}/models gives no max_model_len for '${options.model}': pass contextLength`,
      });
    }
    return new RemotePolicy(options, {
      contextLength,
      vocabularySize: options.vocabularySize ?? card.arpo?.vocabulary_size ?? tokenizer.vocabularySize,
      exactEntropy: card.arpo?.entropy === 'exact',
    });
  }

  /** `options.onToken` is never called: the server's answer arrives whole (no streaming is requested). */
  async generate(
    requests: readonly GenerationRequest[],
    options?: { signal?: AbortSignal },
  ): Promise<GenerationResult[]> {
    if (this.closed) throw new InvalidArgumentError({ argument: 'policy', message: 'is closed' });
    const prepared = requests.map((request, index) => this.prepare(request, index));
    if (options?.signal?.aborted) throw new AbortedError({ operation: 'generate' });
    return Promise.all(prepared.map((request) => this.generateOne(request, options?.signal)));
  }

  statistics(): RemotePolicyStatistics {
    return { ...this.counters, endpoints: this.pool.snapshot() };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private prepare(request: GenerationRequest, index: number) {
    const sampling = resolveSamplingOptions(request.sampling, `requests[${index}].sampling`);
    const prompt = Int32Array.from(request.promptTokenIds);
    if (prompt.length === 0) {
      throw new InvalidArgumentError({ argument: `requests[${index}].promptTokenIds`, message: 'is empty' });
    }
    for (let position = 0; position < prompt.length; position++) {
      const id = prompt[position] as number;
      if (id !== request.promptTokenIds[position] || id < 0 || id >= this.vocabularySize) {
        throw new InvalidArgumentError({
          argument: `requests[${index}].promptTokenIds`,
          message: `token ${position} is ${request.promptTokenIds[position]}, not an id below ${this.vocabularySize}`,
        });
      }
    }
    if (prompt.length >= this.contextLength) {
      throw new ContextLengthError({ promptTokens: prompt.length, contextLength: this.contextLength });
    }
    const n = request.n ?? 1;
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError({
        argument: `requests[${index}].n`,
        message: `must be a positive integer, got ${n}`,
      });
    }
    if (sampling.topLogprobs > this.options.maxTopLogprobs) {
      throw new InvalidArgumentError({
        argument: `requests[${index}].sampling.topLogprobs`,
        message: `is ${sampling.topLogprobs}, above the server's cap of ${this.options.maxTopLogprobs} (maxTopLogprobs)`,
      });
    }
    // The server seeds a request without a seed from its own state; seeding here keeps runs reproducible.
    const seed = sampling.seed ?? this.random.nextUint32();
    return { prompt, sampling: { ...sampling, seed }, n };
  }

  private requestBody(request: ReturnType<RemotePolicy['prepare']>) {
    const { sampling } = request;
    // Without exact entropies from the server, ask for the most alternatives it gives, for the estimate.
    const logprobs = this.exactEntropy ? sampling.topLogprobs : this.options.maxTopLogprobs;
    const body: Record<string, unknown> = {
      model: this.options.model,
      prompt: Array.from(request.prompt),
      max_tokens: Math.min(sampling.maxTokens, this.contextLength - request.prompt.length),
      temperature: sampling.temperature,
      top_p: sampling.topP,
      n: request.n,
      seed: sampling.seed,
      logprobs,
      include_stop_str_in_output: true,
      skip_special_tokens: true,
    };
    if (sampling.topK > 0) body.top_k = sampling.topK;
    if (sampling.stop.length > 0) body.stop = [...sampling.stop];
    if (this.options.tokenIds === 'server') body.return_tokens_as_token_ids = true;
    return body;
  }

  private async generateOne(
    request: ReturnType<RemotePolicy['prepare']>,
    signal: AbortSignal | undefined,
  ): Promise<GenerationResult> {
    const body = JSON.stringify(this.requestBody(request));
    const { response, endpoint } = await this.limiter.run(() => this.send(request.prompt, body, signal));
    const result = this.readResult(response, request, endpoint);
    this.counters.requests++;
    this.counters.reusedTokens += result.usage.reusedPromptTokens;
    this.counters.computedTokens += result.usage.computedPromptTokens + result.usage.completionTokens;
    this.counters.generatedTokens += result.usage.completionTokens;
    return result;
  }

  /** POSTs with retries; returns the parsed JSON body of the first successful attempt. */
  private async send(
    prompt: Int32Array,
    body: string,
    signal: AbortSignal | undefined,
  ): Promise<{ response: CompletionResponse; endpoint: string }> {
    let avoid: number | undefined;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new AbortedError({ operation: 'generate' });
      const { index, url, sharedPrefix } = this.pool.acquire(prompt, avoid);
      if (attempt === 1) this.counters.sharedPrefixTokens += sharedPrefix;
      let failure: RemotePolicyError;
      let retryAfterMs: number | undefined;
      try {
        const timeout = AbortSignal.timeout(this.options.timeoutMs);
        const response = await this.options.fetch(`${url}/completions`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(this.options.apiKey === undefined ? {} : { authorization: `Bearer ${this.options.apiKey}` }),
          },
          body,
          signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        });
        const text = await response.text();
        if (response.ok) {
          this.pool.release(index, { failed: false });
          try {
            return { response: JSON.parse(text) as CompletionResponse, endpoint: url };
          } catch (cause) {
            throw new RemotePolicyError({
              endpoint: url,
              status: response.status,
              message: `response is not JSON: ${text.slice(0, 200)}`,
              isRetryable: false,
              cause,
            });
          }
        }
        failure = new RemotePolicyError({
          endpoint: url,
          status: response.status,
          message: errorMessage(text),
          isRetryable: retryableStatuses.has(response.status),
        });
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      } catch (cause) {
        if (RemotePolicyError.isInstance(cause)) throw cause;
        if (signal?.aborted) {
          this.pool.release(index, { failed: false });
          throw new AbortedError({ operation: 'generate', cause });
        }
        const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
        failure = new RemotePolicyError({
          endpoint: url,
          message: timedOut
            ? `no answer within ${this.options.timeoutMs} ms`
            : `request failed: ${describeCause(cause)}`,
          isRetryable: true,
          cause,
        });
      }
      this.pool.release(index, { failed: true });
      if (!failure.isRetryable || attempt >= this.options.attempts) throw failure;
      this.counters.retries++;
      avoid = index;
      await this.backoff(attempt, retryAfterMs, signal);
    }
  }

  private async backoff(attempt: number, retryAfterMs: number | undefined, signal: AbortSignal | undefined) {
    const exponential = Math.min(
      this.options.maxRetryDelayMs,
      this.options.initialRetryDelayMs * 2 ** (attempt - 1),
    );
    // "Equal jitter": half fixed, half random, so synchronised clients spread out. A server's Retry-After is a
    // floor (it knows when it has room again), capped so a bogus value cannot stall a rollout.
    const jittered = exponential / 2 + (this.random.next() * exponential) / 2;
    const delay = Math.max(Math.min(retryAfterMs ?? 0, maxRetryAfterMs), jittered);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(new AbortedError({ operation: 'generate' }));
      };
      const timer = setTimeout(() => {
        // Waits on a long-lived signal must not pile up listeners (one per retry otherwise).
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, delay);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private readResult(
    response: CompletionResponse,
    request: ReturnType<RemotePolicy['prepare']>,
    endpoint: string,
  ): GenerationResult {
    if (!Array.isArray(response.choices) || response.choices.length !== request.n) {
      throw new RemotePolicyError({
        endpoint,
        message: `expected ${request.n} choices, got ${Array.isArray(response.choices) ? response.choices.length : 'none'}`,
        isRetryable: false,
      });
    }
    const choices = [...response.choices].sort((first, second) => first.index - second.index);
    const sequences = choices.map((choice, index) => this.readChoice(choice, index, request, endpoint));
    const promptTokens = response.usage?.prompt_tokens ?? request.prompt.length;
    const reused = Math.min(promptTokens, response.usage?.prompt_tokens_details?.cached_tokens ?? 0);
    return {
      sequences,
      usage: {
        promptTokens: request.prompt.length,
        reusedPromptTokens: reused,
        computedPromptTokens: request.prompt.length - reused,
        completionTokens: sequences.reduce((sum, sequence) => sum + sequence.tokenIds.length, 0),
      },
    };
  }

  private readChoice(
    choice: CompletionChoice,
    index: number,
    request: ReturnType<RemotePolicy['prepare']>,
    endpoint: string,
  ): GeneratedSequence {
    const logprobs = choice.logprobs;
    const tokens = logprobs?.tokens;
    const tokenLogprobs = logprobs?.token_logprobs;
    if (!Array.isArray(tokens) || !Array.isArray(tokenLogprobs) || tokens.length !== tokenLogprobs.length) {
      throw new RemotePolicyError({
        endpoint,
        message: `choice ${index} has no per-token logprobs (tokens and token_logprobs)`,
        isRetryable: false,
      });
    }
    const tokenIds = this.tokenIdsOf(tokens, choice, index, endpoint);
    const length = tokenIds.length;
    const sampledLogprobs = Float32Array.from(tokenLogprobs, (value) => value ?? Number.NEGATIVE_INFINITY);
    const entropies = new Float32Array(length);
    const exact = logprobs?.token_entropies;
    const top = logprobs?.top_logprobs ?? [];
    const wanted = request.sampling.topLogprobs;
    const topLogprobs: { tokenIds: Int32Array; logprobs: Float32Array }[] = [];
    for (let position = 0; position < length; position++) {
      const alternatives = this.alternativesOf(top[position] ?? null, {
        endpoint,
        choice: index,
        sampled: { token: tokens[position] as string, id: tokenIds[position] as number },
      });
      if (Array.isArray(exact) && exact.length === length) entropies[position] = exact[position] as number;
      else {
        entropies[position] = topKEntropy(alternatives.logprobs, {
          vocabularySize: this.vocabularySize,
          topK: this.options.maxTopLogprobs,
        }).estimate;
      }
      if (wanted > 0) {
        topLogprobs.push({
          tokenIds: alternatives.tokenIds.slice(0, wanted),
          logprobs: alternatives.logprobs.slice(0, wanted),
        });
      }
    }
    const { finishReason, stopString } = this.finishOf(choice, request.sampling.stop, tokenIds);
    const sequence: GeneratedSequence = {
      tokenIds,
      logprobs: sampledLogprobs,
      entropies,
      finishReason,
      text: this.tokenizer.decode(tokenIds, { skipSpecialTokens: true }),
    };
    if (stopString !== undefined) sequence.stopString = stopString;
    if (wanted > 0) sequence.topLogprobs = topLogprobs;
    return sequence;
  }

  private tokenIdsOf(
    tokens: string[],
    choice: CompletionChoice,
    index: number,
    endpoint: string,
  ): Int32Array {
    if (this.options.tokenIds === 'server' && tokens.every((token) => token.startsWith(tokenIdPrefix))) {
      return Int32Array.from(tokens, (token) => Number(token.slice(tokenIdPrefix.length)));
    }
    return this.retokenize(tokens, choice, index, endpoint);
  }

  /**
   * Re-tokenises the choice's text locally. The check: the ids must decode back to the text, and their count must
   * match the server's token count (an EOS the text omits is restored when the server stopped at EOS).
   */
  private retokenize(
    tokens: string[],
    choice: CompletionChoice,
    index: number,
    endpoint: string,
  ): Int32Array {
    const encoded = this.tokenizer.encode(choice.text);
    let ids = encoded;
    if (
      encoded.length === tokens.length - 1 &&
      choice.finish_reason === 'stop' &&
      choice.stop_reason == null
    ) {
      ids = new Int32Array(encoded.length + 1);
      ids.set(encoded);
      ids[encoded.length] = this.tokenizer.specialTokens.eos;
    }
    const decoded = this.tokenizer.decode(ids, { skipSpecialTokens: true });
    if (ids.length !== tokens.length || decoded !== choice.text) {
      throw new RemoteTokenMismatchError({
        endpoint,
        choice: index,
        message: `the server sent ${tokens.length} tokens, re-tokenising its text gave ${ids.length}${decoded === choice.text ? '' : ' that decode differently'} (is the tokenizer the server's?)`,
      });
    }
    return ids;
  }

  /** Top alternatives of one position, most likely first (servers may add the sampled token: it is sorted in). */
  private alternativesOf(
    top: Record<string, number> | null,
    where: { endpoint: string; choice: number; sampled: { token: string; id: number } },
  ): { tokenIds: Int32Array; logprobs: Float32Array } {
    if (top === null || typeof top !== 'object')
      return { tokenIds: new Int32Array(), logprobs: new Float32Array() };
    const entries = Object.entries(top);
    const ids = new Int32Array(entries.length);
    const values = new Float32Array(entries.length);
    const order = entries.map((_, position) => position);
    order.sort((first, second) => (entries[second]?.[1] ?? 0) - (entries[first]?.[1] ?? 0));
    order.forEach((from, to) => {
      const [token, logprob] = entries[from] as [string, number];
      // The sampled token's string (vLLM adds it) maps to the id already known, even when it is a special token
      // whose text does not re-tokenise (an EOS decodes to '').
      ids[to] =
        token === where.sampled.token && !token.startsWith(tokenIdPrefix)
          ? where.sampled.id
          : this.alternativeId(token, where.endpoint, where.choice);
      values[to] = logprob;
    });
    return { tokenIds: ids, logprobs: values };
  }

  private alternativeId(token: string, endpoint: string, choice: number): number {
    if (token.startsWith(tokenIdPrefix)) return Number(token.slice(tokenIdPrefix.length));
    const encoded = this.tokenizer.encode(token);
    if (encoded.length !== 1) {
      throw new RemoteTokenMismatchError({
        endpoint,
        choice,
        message: `top-logprob token ${JSON.stringify(token)} is ${encoded.length} local tokens, not 1`,
      });
    }
    return encoded[0] as number;
  }

  private finishOf(
    choice: CompletionChoice,
    stop: readonly string[],
    tokenIds: Int32Array,
  ): { finishReason: GenerationFinishReason; stopString?: string } {
    if (choice.finish_reason === 'length') return { finishReason: 'length' };
    if (choice.finish_reason === 'abort') return { finishReason: 'abort' };
    if (typeof choice.stop_reason === 'string')
      return { finishReason: 'stop', stopString: choice.stop_reason };
    const last = tokenIds[tokenIds.length - 1];
    if (last === this.tokenizer.specialTokens.eos) return { finishReason: 'eos' };
    // Servers without vLLM's stop_reason: the stop string the text ends with.
    const fired = stop.find((candidate) => choice.text.endsWith(candidate));
    if (fired !== undefined) return { finishReason: 'stop', stopString: fired };
    return { finishReason: 'eos' };
  }
}

async function fetchModelCard(options: {
  endpoint: string;
  model: string;
  apiKey?: string;
  fetch: typeof fetch;
  timeoutMs: number;
}): Promise<ModelCard> {
  let response: Response;
  let text: string;
  try {
    response = await options.fetch(`${options.endpoint}/models`, {
      headers: options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    text = await response.text();
  } catch (cause) {
    throw new RemotePolicyError({
      endpoint: options.endpoint,
      message: `GET /models failed: ${describeCause(cause)}`,
      isRetryable: true,
      cause,
    });
  }
  if (!response.ok) {
    throw new RemotePolicyError({
      endpoint: options.endpoint,
      status: response.status,
      message: `GET /models: ${errorMessage(text)}`,
      isRetryable: retryableStatuses.has(response.status),
    });
  }
  let cards: ModelCard[] = [];
  try {
    cards = (JSON.parse(text) as { data?: ModelCard[] }).data ?? [];
  } catch {}
  const card = cards.find((entry) => entry.id === options.model);
  if (card === undefined) {
    throw new RemotePolicyError({
      endpoint: options.endpoint,
      message: `does not serve model '${options.model}' (serves: ${cards.map((entry) => entry.id).join(', ') || 'none'})`,
      isRetryable: false,
    });
  }
  return card;
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds > 0 ? seconds * 1000 : undefined;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** The `error.message` of an OpenAI-shaped error body, else the start of the body. */
function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof parsed.error === 'object' && typeof parsed.error?.message === 'string')
      return parsed.error.message;
    if (typeof parsed.error === 'string') return parsed.error;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {}
  return text.slice(0, 300) || '(empty body)';
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner =
    cause.cause instanceof Error
      ? ` (${(cause.cause as Error & { code?: string }).code ?? cause.cause.message})`
      : '';
  return `${cause.message}${inner}`;
}
