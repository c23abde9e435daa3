import {
  AbortedError,
  ContextLengthError,
  createRandom,
  deriveSeed,
  type GeneratedSequence,
  type GenerateOptions,
  type GenerationRequest,
  type GenerationResult,
  InvalidArgumentError,
  type Policy,
  type PolicyCapabilities,
  type PolicyStatistics,
  type Random,
  type Tokenizer,
} from '@arpo/core';
import {
  buildDecoderGraph,
  type CompiledGraph,
  compileGraph,
  type DecoderTransformer,
  type TensorValue,
} from '@arpo/tensor';
import { type LoopSequence, runGenerationLoop } from '../sampling/generation-loop.js';
import { LogitsSampler } from '../sampling/logits-sampler.js';
import {
  type ResolvedSamplingOptions,
  resolveContinuationCount,
  resolveSamplingOptions,
} from '../sampling/sampling-settings.js';
import { PrefixCache } from '../transformers/prefix-cache.js';
import { checkDecoderParameters } from './check-decoder-parameters.js';
import { BatchKeyValues, type LayerKeyValues } from './native-key-values.js';
import { SlotKeyValues } from './slot-key-values.js';

export interface NativePolicyOptions {
  model: DecoderTransformer;
  /** Weights by parameter name (see `DecoderTransformer.parameterSpecs`). */
  parameters: ReadonlyMap<string, TensorValue>;
  tokenizer: Tokenizer;
  id?: string;
  /** onnxruntime intra-op threads. Default 2. */
  threads?: number;
  /**
   * Let idle onnxruntime worker threads spin for work. Default false: spinning saves a little latency on an
   * idle machine but costs 2× and more when the cores are shared with other busy processes (rollout tools,
   * trainers), which is the usual case here.
   */
  spinning?: boolean;
  /** Tokens the prefix cache may hold (keys/values of earlier prompts and branches). Default 65 536. */
  prefixCacheTokens?: number;
  /** Seeds requests that carry none. Default 0. */
  seed?: number;
  /**
   * Compile the weights into the onnxruntime session as initializers (default true): onnxruntime then pre-packs
   * the weight matrices and folds constant work (the tied head's transpose), which makes decoding markedly
   * faster, and no weights are fed per step. `setParameters` then recompiles (lazily, at the next call). With
   * false, weights are fed at every run and one session serves any weights.
   */
  bakeParameters?: boolean;
}

interface Decoders {
  prefill: CompiledGraph;
  step: CompiledGraph;
}

async function disposeDecoders(decoders: Decoders | undefined): Promise<void> {
  await decoders?.prefill.dispose();
  await decoders?.step.dispose();
}

interface PreparedRequest {
  prompt: Int32Array;
  sampling: ResolvedSamplingOptions;
  n: number;
}

/**
 * The in-process policy over the reference decoder transformer of `@arpo/tensor`, run by onnxruntime-node.
 *
 * One compiled decoder graph serves prefill and every decode step (KV cache in and out). All sequences of all
 * requests of a `generate` call decode together in one batch (left-padded caches, masked). Prompts reuse the
 * keys/values of the longest previously computed prefix (earlier prompts and finished branches), so a branch
 * continuing a shared prefix costs only its new tokens; `statistics()` counts computed and reused tokens.
 * Per-token logprobs and entropies are exact over the full vocabulary.
 */
export class NativePolicy implements Policy {
  readonly id: string;
  readonly tokenizer: Tokenizer;
  readonly vocabularySize: number;
  readonly contextLength: number;
  readonly capabilities: PolicyCapabilities = {
    entropy: 'exact',
    logits: true,
    trainable: true,
    prefixReuse: true,
  };
  readonly model: DecoderTransformer;

  private parameters: ReadonlyMap<string, TensorValue>;
  private readonly prefixCache: PrefixCache<BatchKeyValues>;
  private readonly sampler: LogitsSampler;
  private readonly seeds: Random;
  private readonly counters: PolicyStatistics = {
    computedTokens: 0,
    reusedTokens: 0,
    generatedTokens: 0,
    requests: 0,
  };
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly bakeParameters: boolean;
  private readonly threads: number;
  private readonly spinning: boolean;
  /** Compiled for `this.parameters` (baked) or for any weights; undefined after `setParameters` when baked. */
  private decoders: Decoders | undefined;

  private constructor(options: NativePolicyOptions, decoders: Decoders) {
    this.decoders = decoders;
    this.bakeParameters = options.bakeParameters ?? true;
    this.threads = options.threads ?? 2;
    this.spinning = options.spinning ?? false;
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    this.parameters = options.parameters;
    this.id = options.id ?? 'native';
    this.vocabularySize = options.model.config.vocabSize;
    this.contextLength = options.model.config.contextLength;
    this.prefixCache = new PrefixCache({ maximumTokens: options.prefixCacheTokens ?? 65_536 });
    this.sampler = new LogitsSampler({ vocabularySize: this.vocabularySize });
    this.seeds = createRandom({ seed: options.seed ?? 0 });
  }

  static async create(options: NativePolicyOptions): Promise<NativePolicy> {
    if (options.tokenizer.vocabularySize > options.model.config.vocabSize) {
      throw new InvalidArgumentError({
        argument: 'tokenizer',
        message: `has ${options.tokenizer.vocabularySize} tokens but the model only ${options.model.config.vocabSize}`,
      });
    }
    checkDecoderParameters(options.model, options.parameters);
    const decoders = await NativePolicy.compile(options.model, options.parameters, {
      bake: options.bakeParameters ?? true,
      threads: options.threads ?? 2,
      spinning: options.spinning ?? false,
    });
    return new NativePolicy(options, decoders);
  }

  /** The prefill graph (returns whole caches) and the decode-step graph (returns only the new keys/values). */
  private static async compile(
    model: DecoderTransformer,
    parameters: ReadonlyMap<string, TensorValue>,
    options: { bake: boolean; threads: number; spinning: boolean },
  ): Promise<Decoders> {
    const compileOptions = {
      threads: options.threads,
      spinning: options.spinning,
      ...(options.bake ? { initializers: parameters } : {}),
    };
    const prefill = await compileGraph(buildDecoderGraph(model), compileOptions);
    const step = await compileGraph(buildDecoderGraph(model, { cacheOutputs: 'added' }), compileOptions);
    return { prefill, step };
  }

  /**
   * Swaps in new weights (after an optimizer step; also when the old map was updated in place). Cached prefixes
   * were computed with the old ones: dropped. Baked weights are recompiled at the next call.
   */
  setParameters(parameters: ReadonlyMap<string, TensorValue>): void {
    checkDecoderParameters(this.model, parameters);
    this.parameters = parameters;
    this.prefixCache.clear();
    if (this.bakeParameters) {
      const stale = this.decoders;
      this.decoders = undefined;
      // After any call in flight (which may still hold the old sessions).
      this.queue = this.queue.then(() => disposeDecoders(stale)).catch(() => undefined);
    }
  }

  private async currentDecoders(): Promise<Decoders> {
    this.decoders ??= await NativePolicy.compile(this.model, this.parameters, {
      bake: this.bakeParameters,
      threads: this.threads,
      spinning: this.spinning,
    });
    return this.decoders;
  }

  async generate(
    requests: readonly GenerationRequest[],
    options?: GenerateOptions,
  ): Promise<GenerationResult[]> {
    const prepared = requests.map((request, index) => this.prepare(request, index));
    if (options?.signal?.aborted) throw new AbortedError({ operation: 'generate' });
    return this.serialise(() => this.generateBatch(prepared, options ?? {}));
  }

  async scoreTokens(
    items: readonly { promptTokenIds: ArrayLike<number>; completionTokenIds: ArrayLike<number> }[],
    options?: { temperature?: number },
  ): Promise<{ logprobs: Float32Array; entropies: Float32Array }[]> {
    const checked = items.map((item, index) => ({
      prompt: this.checkTokens(item.promptTokenIds, `items[${index}].promptTokenIds`, false),
      completion: this.checkTokens(item.completionTokenIds, `items[${index}].completionTokenIds`, true),
    }));
    return this.serialise(async () => {
      const temperature = options?.temperature ?? 1;
      const results: { logprobs: Float32Array; entropies: Float32Array }[] = [];
      for (const [index, { prompt, completion }] of checked.entries()) {
        const total = prompt.length + completion.length;
        if (total > this.contextLength) {
          throw new ContextLengthError({
            promptTokens: total,
            contextLength: this.contextLength,
            source: `items[${index}]`,
          });
        }
        const logprobs = new Float32Array(completion.length);
        const entropies = new Float32Array(completion.length);
        if (completion.length > 0) {
          const full = new Int32Array(total);
          full.set(prompt);
          full.set(completion, prompt.length);
          // Logits at positions prompt.length - 1 ... total - 2 predict the completion: reuse at most before them.
          const { logits } = await this.prefill(full.subarray(0, total - 1), {
            allLogits: true,
            store: false,
            maxReuse: prompt.length - 1,
          });
          for (let position = 0; position < completion.length; position++) {
            const row = prompt.length - 1 + position;
            const measured = this.sampler.measure(
              logits,
              row * this.vocabularySize,
              completion[position] as number,
              temperature,
            );
            logprobs[position] = measured.logprob;
            entropies[position] = measured.entropy;
          }
        }
        results.push({ logprobs, entropies });
      }
      return results;
    });
  }

  statistics(): PolicyStatistics {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.prefixCache.clear();
    await this.queue;
    await disposeDecoders(this.decoders);
    this.decoders = undefined;
  }

  private serialise<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new InvalidArgumentError({ argument: 'policy', message: 'is closed' });
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private checkTokens(tokenIds: ArrayLike<number>, argument: string, allowEmpty: boolean): Int32Array {
    if (tokenIds.length === 0 && !allowEmpty)
      throw new InvalidArgumentError({ argument, message: 'is empty' });
    const checked = Int32Array.from(tokenIds);
    for (let index = 0; index < checked.length; index++) {
      const id = checked[index] as number;
      if (id !== tokenIds[index] || id < 0 || id >= this.vocabularySize) {
        throw new InvalidArgumentError({
          argument,
          message: `token ${index} is ${tokenIds[index]}, not an id below ${this.vocabularySize}`,
        });
      }
    }
    return checked;
  }

  private prepare(request: GenerationRequest, index: number): PreparedRequest {
    const sampling = resolveSamplingOptions(request.sampling, `requests[${index}].sampling`);
    const n = resolveContinuationCount(request.n, index);
    const prompt = this.checkTokens(request.promptTokenIds, `requests[${index}].promptTokenIds`, false);
    if (prompt.length >= this.contextLength) {
      throw new ContextLengthError({
        promptTokens: prompt.length,
        contextLength: this.contextLength,
        source: `requests[${index}].promptTokenIds`,
      });
    }
    return { prompt, sampling, n };
  }

  private shape() {
    return { layers: this.model.config.layers, heads: this.model.config.heads, headDim: this.model.headDim };
  }

  /** Runs `tokenIds` ([batch, length]) after `past`. */
  private async forward(tokenIds: Int32Array, past: BatchKeyValues, positions: Int32Array) {
    const batch = past.batch;
    const length = tokenIds.length / batch;
    const { heads, headDim, layers } = this.shape();
    const feeds: Record<string, TensorValue> = {
      input_ids: { data: tokenIds, shape: [batch, length] },
      position_ids: { data: positions, shape: [batch, length] },
      attention_mask: { data: past.attentionMask(length), shape: [batch, past.length + length] },
    };
    if (!this.bakeParameters) for (const [name, value] of this.parameters) feeds[name] = value;
    for (let layer = 0; layer < layers; layer++) {
      const cache = past.layers[layer] as LayerKeyValues;
      feeds[`past_key_values.${layer}.key`] = {
        data: cache.key,
        shape: [batch, heads, past.length, headDim],
      };
      feeds[`past_key_values.${layer}.value`] = {
        data: cache.value,
        shape: [batch, heads, past.length, headDim],
      };
    }
    const outputs = await (await this.currentDecoders()).prefill.run(feeds);
    const present: LayerKeyValues[] = [];
    for (let layer = 0; layer < layers; layer++) {
      present.push({
        key: outputs[`present.${layer}.key`]?.data as Float32Array,
        value: outputs[`present.${layer}.value`]?.data as Float32Array,
      });
    }
    const validLengths = Int32Array.from(past.validLengths, (valid) => valid + length);
    return {
      logits: outputs.logits?.data as Float32Array,
      cache: new BatchKeyValues(present, batch, heads, past.length + length, headDim, validLengths),
    };
  }

  /** One decode step of `tokenIds` ([batch]) after the in-place cache, which it extends by one position. */
  private async step(
    tokenIds: Int32Array,
    cache: SlotKeyValues,
    positions: Int32Array,
  ): Promise<Float32Array> {
    const { heads, headDim, layers } = this.shape();
    const batch = cache.batch;
    const pastShape = [batch, heads, cache.capacity, headDim];
    const feeds: Record<string, TensorValue> = {
      input_ids: { data: tokenIds, shape: [batch, 1] },
      position_ids: { data: positions, shape: [batch, 1] },
      attention_mask: { data: cache.attentionMask(1), shape: [batch, cache.capacity + 1] },
    };
    if (!this.bakeParameters) for (const [name, value] of this.parameters) feeds[name] = value;
    for (let layer = 0; layer < layers; layer++) {
      const past = cache.layers[layer] as LayerKeyValues;
      feeds[`past_key_values.${layer}.key`] = { data: past.key, shape: pastShape };
      feeds[`past_key_values.${layer}.value`] = { data: past.value, shape: pastShape };
    }
    const outputs = await (await this.currentDecoders()).step.run(feeds);
    const added: LayerKeyValues[] = [];
    for (let layer = 0; layer < layers; layer++) {
      added.push({
        key: outputs[`added.${layer}.key`]?.data as Float32Array,
        value: outputs[`added.${layer}.value`]?.data as Float32Array,
      });
    }
    cache.append(added);
    return outputs.logits?.data as Float32Array;
  }

  /**
   * Computes keys/values (and logits) of `tokens`, reusing the longest cached prefix. At least the last token is
   * always computed, so its logits exist.
   */
  private async prefill(
    tokens: Int32Array,
    options: { allLogits: boolean; store: boolean; maxReuse?: number },
  ) {
    const found = this.prefixCache.lookup(tokens);
    const reused =
      found === undefined ? 0 : Math.min(found.commonLength, tokens.length - 1, options.maxReuse ?? Infinity);
    const past =
      reused > 0 && found !== undefined
        ? BatchKeyValues.gather([{ cache: found.entry.cache, row: 0, keep: reused }], this.shape())
        : BatchKeyValues.empty(this.shape());
    const suffix = tokens.subarray(reused);
    const positions = new Int32Array(suffix.length);
    for (let index = 0; index < suffix.length; index++) positions[index] = reused + index;
    const { logits, cache } = await this.forward(Int32Array.from(suffix), past, positions);
    this.counters.computedTokens += suffix.length;
    this.counters.reusedTokens += reused;
    if (options.store)
      this.prefixCache.store({ tokenIds: tokens.slice(), cache, nextLogits: new Float32Array(0) });
    if (options.allLogits && reused > 0) {
      // Callers index logits by absolute position: pad the reused rows (never read) in front.
      const padded = new Float32Array(tokens.length * this.vocabularySize);
      padded.set(logits, reused * this.vocabularySize);
      return { logits: padded, cache, reused };
    }
    return { logits, cache, reused };
  }

  private async generateBatch(
    requests: readonly PreparedRequest[],
    { signal, onToken }: GenerateOptions,
  ): Promise<GenerationResult[]> {
    const vocabularySize = this.vocabularySize;
    const promptCaches: BatchKeyValues[] = [];
    const promptLogits: Float32Array[] = [];
    const reusedPerRequest: number[] = [];
    for (const request of requests) {
      const { logits, cache, reused } = await this.prefill(request.prompt, { allLogits: false, store: true });
      const rows = logits.length / vocabularySize;
      promptLogits.push(logits.slice((rows - 1) * vocabularySize, rows * vocabularySize));
      promptCaches.push(cache);
      reusedPerRequest.push(reused);
      this.counters.requests++;
    }
    // One row per continuation: sequence s belongs to request owner[s].
    const owner: number[] = [];
    const owners: { requestIndex: number; sequenceIndex: number }[] = [];
    const sequences: LoopSequence[] = [];
    requests.forEach((request, requestIndex) => {
      const baseSeed = request.sampling.seed ?? this.seeds.nextUint32();
      for (let sample = 0; sample < request.n; sample++) {
        owner.push(requestIndex);
        owners.push({ requestIndex, sequenceIndex: sample });
        sequences.push({
          sampling: request.sampling,
          seed: request.n > 1 ? deriveSeed(baseSeed, sample) : baseSeed,
          contextRemaining: this.contextLength - request.prompt.length,
        });
      }
    });
    const initialLogits = new Float32Array(sequences.length * vocabularySize);
    owner.forEach((requestIndex, row) => {
      initialLogits.set(promptLogits[requestIndex] as Float32Array, row * vocabularySize);
    });
    let cache = SlotKeyValues.fromBatch(
      BatchKeyValues.gather(
        owner.map((requestIndex) => ({ cache: promptCaches[requestIndex] as BatchKeyValues, row: 0 })),
        this.shape(),
      ),
    );
    let cacheRows: number[] = owner.map((_, index) => index);
    const generatedSoFar = new Int32Array(sequences.length);

    const results = await runGenerationLoop({
      sequences,
      vocabularySize,
      initialLogits,
      eosTokenIds: [this.tokenizer.specialTokens.eos],
      decode: (tokenIds) => this.tokenizer.decode(tokenIds, { skipSpecialTokens: true }),
      ...(signal === undefined ? {} : { signal }),
      ...(onToken === undefined ? {} : { onToken, owners }),
      sampler: this.sampler,
      onSequenceFinished: (index, sequence) => {
        // Keep prompt + all but the last token (whose keys are not computed yet) for later turns and branches.
        const row = cacheRows.indexOf(index);
        const prompt = (requests[owner[index] as number] as PreparedRequest).prompt;
        const length = sequence.tokenIds.length;
        if (row < 0 || length < 2 || cache.lengths[row] !== prompt.length + length - 1) return;
        const tokenIds = new Int32Array(prompt.length + length - 1);
        tokenIds.set(prompt);
        tokenIds.set(sequence.tokenIds.subarray(0, length - 1), prompt.length);
        this.prefixCache.store({ tokenIds, cache: cache.rowToBatch(row), nextLogits: new Float32Array(0) });
      },
      step: async ({ rows, tokenIds }) => {
        if (rows.length !== cacheRows.length) {
          cache = cache.keep(Array.from(rows, (index) => cacheRows.indexOf(index)));
          cacheRows = Array.from(rows);
        }
        const positions = new Int32Array(rows.length);
        rows.forEach((index, position) => {
          const prompt = (requests[owner[index] as number] as PreparedRequest).prompt;
          generatedSoFar[index] = (generatedSoFar[index] as number) + 1;
          positions[position] = prompt.length + (generatedSoFar[index] as number) - 1;
        });
        const logits = await this.step(tokenIds, cache, positions);
        this.counters.computedTokens += rows.length;
        return logits;
      },
    });

    let cursor = 0;
    return requests.map((request, requestIndex) => {
      const own = results.slice(cursor, cursor + request.n) as GeneratedSequence[];
      cursor += request.n;
      const completionTokens = own.reduce((sum, sequence) => sum + sequence.tokenIds.length, 0);
      this.counters.generatedTokens += completionTokens;
      const reused = reusedPerRequest[requestIndex] as number;
      return {
        sequences: own,
        usage: {
          promptTokens: request.prompt.length,
          reusedPromptTokens: reused,
          computedPromptTokens: request.prompt.length - reused,
          completionTokens,
        },
      };
    });
  }
}
