import { z } from 'zod';
import { lazySchema } from '../schema/lazy-schema.js';
import type { Tokenizer } from './tokenizer.js';

/** How to sample one continuation. */
export interface SamplingOptions {
  /** Maximum new tokens. */
  maxTokens: number;
  /** 0 means greedy. Default 1. */
  temperature?: number;
  /** Nucleus sampling mass in (0, 1]. Default 1 (off). */
  topP?: number;
  /** Keep only the k most likely tokens; 0 or undefined = off. */
  topK?: number;
  /** Generation stops when the decoded continuation ends with one of these; the stop string stays in the output. */
  stop?: readonly string[];
  /** Same seed, same prompt and same options → same tokens. */
  seed?: number;
  /** Also return the top-k alternatives (token id + logprob) at every position. */
  topLogprobs?: number;
}

export const samplingOptionsSchema = lazySchema<SamplingOptions>('sampling options', () =>
  z.object({
    maxTokens: z.number().int().positive(),
    temperature: z.number().min(0).max(100).optional(),
    topP: z.number().gt(0).max(1).optional(),
    topK: z.number().int().nonnegative().optional(),
    stop: z.array(z.string().min(1)).max(64).optional(),
    seed: z.number().int().optional(),
    topLogprobs: z.number().int().min(0).max(100).optional(),
  }),
);

/** One prompt to continue, `n` times (branches share the prompt's cached prefix). */
export interface GenerationRequest {
  /** Full context: prompt plus everything generated and appended so far. */
  promptTokenIds: ArrayLike<number>;
  sampling: SamplingOptions;
  /** Number of independent continuations. Default 1. Continuation i uses seed `deriveSeed(seed, i)` when n > 1. */
  n?: number;
}

export type GenerationFinishReason = 'eos' | 'stop' | 'length' | 'abort';

/** One sampled continuation with per-token statistics. */
export interface GeneratedSequence {
  tokenIds: Int32Array;
  /** Log-probability of each sampled token under the (temperature-scaled, untruncated) distribution. */
  logprobs: Float32Array;
  /**
   * Entropy (nats) of the next-token distribution at each position. Exact over the full vocabulary when the
   * policy's `capabilities.entropy` is `exact`; an estimate from the top-k logprobs otherwise.
   */
  entropies: Float32Array;
  finishReason: GenerationFinishReason;
  /** Which stop string fired, when `finishReason` is `stop`. */
  stopString?: string;
  /** Decoded text of `tokenIds`. */
  text: string;
  /** When requested: per position, the top-k token ids and their logprobs (descending). */
  topLogprobs?: { tokenIds: Int32Array; logprobs: Float32Array }[];
}

/** Token accounting of one request: what the runtime actually computed vs. took from its prefix cache. */
export interface GenerationUsage {
  promptTokens: number;
  /** Prompt tokens whose keys/values were found in the cache and not recomputed. */
  reusedPromptTokens: number;
  /** Prompt tokens run through the model for this request. */
  computedPromptTokens: number;
  completionTokens: number;
}

export interface GenerationResult {
  sequences: GeneratedSequence[];
  usage: GenerationUsage;
}

export interface PolicyCapabilities {
  /** `exact`: entropy over the full vocabulary; `top-k-estimate`: from the top logprobs; `none`: zeros. */
  entropy: 'exact' | 'top-k-estimate' | 'none';
  /** Full logits or log-probabilities of given tokens can be computed (`scoreTokens`). */
  logits: boolean;
  /** The weights can be trained in-process. */
  trainable: boolean;
  /** Continuations of a previously seen prefix skip recomputing it. */
  prefixReuse: boolean;
}

/** Cumulative counters of a policy runtime, for rollout reports and benchmarks. */
export interface PolicyStatistics {
  computedTokens: number;
  reusedTokens: number;
  generatedTokens: number;
  requests: number;
}

/** One token as the runtime samples it, reported to `GenerateOptions.onToken`. */
export interface GeneratedTokenEvent {
  /** Index into the `requests` handed to `generate`. */
  requestIndex: number;
  /** Which of the request's `n` continuations (0 when `n` is 1): the index into its result's `sequences`. */
  sequenceIndex: number;
  /** Position of the token in its continuation (0, 1, 2, ... without gaps). */
  position: number;
  tokenId: number;
  /** Same value the result's `logprobs[position]` will hold. */
  logprob: number;
  /** Same value the result's `entropies[position]` will hold. */
  entropy: number;
  /** When `sampling.topLogprobs` was asked: the same entry as the result's `topLogprobs[position]`. */
  topLogprobs?: { tokenIds: Int32Array; logprobs: Float32Array };
}

/** Options of one `generate` call. */
export interface GenerateOptions {
  /**
   * Aborting ends the running continuations with finish reason `abort` (an already-aborted signal rejects with
   * `AbortedError`). One signal covers the whole call: there is no per-request abort.
   */
  signal?: AbortSignal;
  /**
   * Called right after each token is sampled, before the next decode step, for every row of the batch, in order
   * per continuation; tokens after a continuation's EOS, stop string or limit are never reported, so the tokens
   * reported for a continuation are exactly its result's `tokenIds`. A returned promise is awaited before the next
   * decode step (it pauses the whole batch: keep it short). If the callback throws or its promise rejects, the
   * call stops before the next decode step and `generate` rejects with that same error; the policy stays usable
   * and its caches consistent. Local runtimes (NativePolicy, TransformersPolicy) call it as they decode;
   * runtimes that get whole results at once (RemotePolicy) do not call it, so callers that stream must also
   * handle tokens they were never told about when the result arrives. Costs nothing when absent.
   */
  onToken?: (event: GeneratedTokenEvent) => void | Promise<void>;
}

/** A language model that rollouts sample from. */
export interface Policy {
  readonly id: string;
  readonly tokenizer: Tokenizer;
  readonly vocabularySize: number;
  /** Maximum prompt plus generated tokens. */
  readonly contextLength: number;
  readonly capabilities: PolicyCapabilities;
  /**
   * Continues each request. Requests are batched together by the runtime. Requests whose prompts share a prefix
   * with each other or with an earlier request may reuse its cached computation (branches of an ARPO tree do).
   * Rejects with a typed error for invalid options or a prompt longer than the context.
   */
  generate(requests: readonly GenerationRequest[], options?: GenerateOptions): Promise<GenerationResult[]>;
  /**
   * Log-probabilities (and entropies) of given continuation tokens under the current weights, one forward pass
   * per item, no sampling. Present when `capabilities.logits` is true.
   */
  scoreTokens?(
    items: readonly { promptTokenIds: ArrayLike<number>; completionTokenIds: ArrayLike<number> }[],
  ): Promise<{ logprobs: Float32Array; entropies: Float32Array }[]>;
  statistics?(): PolicyStatistics;
  /** Frees runtime resources (sessions, caches, connections). Idempotent. */
  close?(): Promise<void>;
}
