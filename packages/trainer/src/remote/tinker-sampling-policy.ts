import {
  ContextLengthError,
  type GeneratedSequence,
  type GenerationFinishReason,
  type GenerationRequest,
  type GenerationResult,
  InvalidArgumentError,
  type Policy,
  type PolicyCapabilities,
  type PolicyStatistics,
  parse,
  samplingOptionsSchema,
  type Tokenizer,
} from '@arpo/core';
import { IncrementalDecoder, StopStringMatcher } from '@arpo/policy';
import type { TinkerHttpClient } from './tinker-http-client.js';
import { arpoTinkerExtensions, type TinkerSamplingParams, tinkerSampleResultSchema } from './tinker-wire.js';
import { UnsupportedRemoteFeatureError } from './unsupported-remote-feature-error.js';

/** Which weights a sample request uses. */
export type TinkerSamplerTarget =
  | { samplingSessionId: string }
  | { modelPath: string }
  | { baseModel: string };

export interface TinkerSamplingPolicyOptions {
  client: TinkerHttpClient;
  /** Must be the tokenizer of the server's base model: prompts go as token ids, stop strings are matched here. */
  tokenizer: Tokenizer;
  contextLength: number;
  /** Default `tokenizer.vocabularySize`. */
  vocabularySize?: number;
  /** Fixed weights, or a function asked before every `generate` (the trainer backend's weight sync). */
  target: TinkerSamplerTarget | (() => Promise<TinkerSamplerTarget>);
  /** ARPO.ts extensions the server announced (`get_server_capabilities`); none for SkyRL or hosted Tinker. */
  extensions?: readonly string[];
  /** Concurrent sample requests in flight. Default 16. */
  maxConcurrency?: number;
  id?: string;
}

interface WireSequence {
  tokens: number[];
  logprobs?: number[] | null | undefined;
  stop_reason?: string | null | undefined;
  entropies?: number[] | undefined;
  top_logprobs?: [number, number][][] | undefined;
}

/**
 * A Policy over the sampler of a Tinker-style training server (`POST /api/v1/asample`): rollouts run against the
 * remote weights. Each GenerationRequest becomes one sample request (`num_samples` = n). EOS and stop strings are
 * enforced here as well (SkyRL's JAX backend has no implicit EOS and cuts string stops only after the fact):
 * the sequence ends at the first EOS or the first completed stop string, which stays in the output. Entropies
 * are exact when the server offers the `sample_entropies` extension, zeros otherwise.
 */
export class TinkerSamplingPolicy implements Policy {
  readonly id: string;
  readonly tokenizer: Tokenizer;
  readonly vocabularySize: number;
  readonly contextLength: number;
  readonly capabilities: PolicyCapabilities;
  private readonly client: TinkerHttpClient;
  private readonly target: () => Promise<TinkerSamplerTarget>;
  private readonly extensions: ReadonlySet<string>;
  private readonly maxConcurrency: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private sequenceCounter = 0;
  private readonly counters: PolicyStatistics = {
    computedTokens: 0,
    reusedTokens: 0,
    generatedTokens: 0,
    requests: 0,
  };

  constructor(options: TinkerSamplingPolicyOptions) {
    this.client = options.client;
    this.tokenizer = options.tokenizer;
    this.contextLength = options.contextLength;
    this.vocabularySize = options.vocabularySize ?? options.tokenizer.vocabularySize;
    const target = options.target;
    this.target = typeof target === 'function' ? target : async () => target;
    this.extensions = new Set(options.extensions ?? []);
    this.maxConcurrency = options.maxConcurrency ?? 16;
    this.id = options.id ?? `tinker:${options.client.baseUrl}`;
    this.capabilities = {
      entropy: this.extensions.has(arpoTinkerExtensions.entropies) ? 'exact' : 'none',
      logits: false,
      trainable: false,
      prefixReuse: this.extensions.has(arpoTinkerExtensions.usage),
    };
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxConcurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.active--;
    }
  }

  async generate(
    requests: readonly GenerationRequest[],
    options?: { signal?: AbortSignal },
  ): Promise<GenerationResult[]> {
    const prepared = requests.map((request, index) => this.prepare(request, index));
    const target = await this.target();
    const where: Record<string, unknown> =
      'samplingSessionId' in target
        ? { sampling_session_id: target.samplingSessionId }
        : 'modelPath' in target
          ? { model_path: target.modelPath }
          : { base_model: target.baseModel };
    return Promise.all(
      prepared.map(({ prompt, params, n, stops }) =>
        this.limited(async () => {
          const body = {
            ...where,
            seq_id: this.sequenceCounter++,
            prompt: { chunks: [{ type: 'encoded_text', tokens: prompt }] },
            num_samples: n,
            sampling_params: params,
          };
          const result = await this.client.run(tinkerSampleResultSchema, 'asample', body, {
            ...(options?.signal === undefined ? {} : { signal: options.signal }),
          });
          if (result.sequences.length !== n) {
            throw new InvalidArgumentError({
              argument: 'asample result',
              message: `has ${result.sequences.length} sequences for num_samples ${n}`,
            });
          }
          const sequences = result.sequences.map((sequence) => this.finish(sequence, stops));
          const completionTokens = sequences.reduce((sum, sequence) => sum + sequence.tokenIds.length, 0);
          const reused = result.usage?.reused_prompt_tokens ?? 0;
          const computed = result.usage?.computed_prompt_tokens ?? prompt.length;
          this.counters.requests++;
          this.counters.generatedTokens += completionTokens;
          this.counters.reusedTokens += reused;
          this.counters.computedTokens += computed + completionTokens;
          return {
            sequences,
            usage: {
              promptTokens: prompt.length,
              reusedPromptTokens: reused,
              computedPromptTokens: computed,
              completionTokens,
            },
          };
        }),
      ),
    );
  }

  private prepare(request: GenerationRequest, index: number) {
    const sampling = parse(samplingOptionsSchema, request.sampling, {
      source: `requests[${index}].sampling`,
    });
    const prompt = Array.from(request.promptTokenIds);
    if (prompt.length === 0) {
      throw new InvalidArgumentError({ argument: `requests[${index}].promptTokenIds`, message: 'is empty' });
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
    if ((sampling.topLogprobs ?? 0) > 0 && !this.extensions.has(arpoTinkerExtensions.topLogprobs)) {
      throw new UnsupportedRemoteFeatureError({
        feature: `requests[${index}].sampling.topLogprobs`,
        message: 'the Tinker sample API returns no top-k alternatives of generated tokens',
      });
    }
    const stops = sampling.stop ?? [];
    const params: TinkerSamplingParams = {
      max_tokens: Math.min(sampling.maxTokens, this.contextLength - prompt.length),
      temperature: sampling.temperature ?? 1,
      top_p: sampling.topP ?? 1,
      top_k: sampling.topK === undefined || sampling.topK === 0 ? -1 : sampling.topK,
      // Token-id and string stops cannot be mixed on the wire: send EOS as an id unless there are strings.
      stop: stops.length > 0 ? [...stops] : [this.tokenizer.specialTokens.eos],
    };
    if (sampling.seed !== undefined) params.seed = sampling.seed;
    if ((sampling.topLogprobs ?? 0) > 0) params.top_logprobs = sampling.topLogprobs as number;
    return { prompt, params, n, stops };
  }

  /** Cuts a returned sequence at the first EOS or completed stop string, as the in-process runtime stops. */
  private finish(sequence: WireSequence, stops: readonly string[]): GeneratedSequence {
    const eos = this.tokenizer.specialTokens.eos;
    const decode = (tokenIds: ArrayLike<number>) =>
      this.tokenizer.decode(tokenIds, { skipSpecialTokens: true });
    const decoder = stops.length > 0 ? new IncrementalDecoder(decode) : undefined;
    const matcher = stops.length > 0 ? new StopStringMatcher(stops) : undefined;
    let end = sequence.tokens.length;
    let finishReason: GenerationFinishReason = sequence.stop_reason === 'stop' ? 'stop' : 'length';
    let stopString: string | undefined;
    for (let index = 0; index < sequence.tokens.length; index++) {
      const token = sequence.tokens[index] as number;
      if (token === eos) {
        end = index + 1;
        finishReason = 'eos';
        break;
      }
      const match = matcher?.push((decoder as IncrementalDecoder).push(token));
      if (match !== undefined) {
        end = index + 1;
        finishReason = 'stop';
        stopString = match.stopString;
        break;
      }
    }
    const tokenIds = Int32Array.from(sequence.tokens.slice(0, end));
    const logprobs = new Float32Array(end);
    if (sequence.logprobs != null) logprobs.set(sequence.logprobs.slice(0, end));
    const entropies = new Float32Array(end);
    if (sequence.entropies !== undefined) entropies.set(sequence.entropies.slice(0, end));
    const generated: GeneratedSequence = {
      tokenIds,
      logprobs,
      entropies,
      finishReason,
      text: decode(tokenIds),
    };
    if (stopString !== undefined) generated.stopString = stopString;
    if (sequence.top_logprobs !== undefined) {
      generated.topLogprobs = sequence.top_logprobs.slice(0, end).map((alternatives) => ({
        tokenIds: Int32Array.from(alternatives, (pair) => pair[0]),
        logprobs: Float32Array.from(alternatives, (pair) => pair[1]),
      }));
    }
    return generated;
  }

  statistics(): PolicyStatistics {
    return { ...this.counters };
  }
}
