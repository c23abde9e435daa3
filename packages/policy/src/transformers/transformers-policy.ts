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
} from '@arpo/core';
import type { PreTrainedModel, Tensor } from '@huggingface/transformers';
import { type LoopSequence, runGenerationLoop } from '../sampling/generation-loop.js';
import { LogitsSampler } from '../sampling/logits-sampler.js';
import {
  type ResolvedSamplingOptions,
  resolveContinuationCount,
  resolveSamplingOptions,
} from '../sampling/sampling-settings.js';
import { type HuggingFaceTokenizer, loadHuggingFaceTokenizer } from '../tokenizer/hugging-face-tokenizer.js';
import { KeyValueCache } from './key-value-cache.js';
import { checkModelFolder, hasFile, readJsonFile } from './model-folder.js';
import { ModelFolderError } from './model-folder-error.js';
import { PrefixCache } from './prefix-cache.js';

export interface TransformersPolicyOptions {
  /** A local Hugging Face ONNX causal-LM folder: config.json, tokenizer files, onnx/<model file>.onnx. */
  folder: string;
  /** Policy id. Default `transformers:<folder name>`. */
  id?: string;
  /** ONNX weights variant (`fp32` → onnx/model.onnx, `q8` → onnx/model_quantized.onnx, ...). Default fp32. */
  dtype?: 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';
  /** File stem inside `onnx/`. Default `model`. */
  modelFileName?: string;
  /** Override the context length read from config.json (`max_position_embeddings`, `n_positions`, ...). */
  contextLength?: number;
  /** Token budget of the prefix cache (prompt prefixes and finished branches). Default 16384; 0 disables. */
  prefixCacheTokens?: number;
  /** Seed of the generator that seeds requests without `sampling.seed`. Default 0. */
  seed?: number;
  /** onnxruntime session options passed through (threads, graph optimisation). */
  sessionOptions?: Record<string, unknown>;
}

const dtypeSuffix: Record<NonNullable<TransformersPolicyOptions['dtype']>, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

type TensorConstructor = new (type: string, data: unknown, dims: number[]) => Tensor;
type ForwardOutputs = Record<string, Tensor>;
interface OnnxSession {
  inputNames: string[];
}

/**
 * A `Policy` over any local Hugging Face ONNX causal-LM folder (an Optimum / transformers.js export such as
 * Qwen2.5-0.5B-Instruct, or a folder written by this project), run by `@huggingface/transformers`.
 *
 * The model's forward pass is called step by step (`input_ids`, `attention_mask`, `position_ids`,
 * `past_key_values.*` → `logits`, `present.*`) and every token is sampled by this package's kernels, so logprobs
 * and entropies are exact over the full vocabulary. Prompt prefixes and finished branches are kept in an LRU
 * prefix cache: a request whose prompt extends a cached sequence only runs its new tokens (`statistics()` and
 * `usage` count computed vs reused tokens). The `n` continuations of a request decode as one batch; requests run
 * one after another (calls are serialised).
 */
export class TransformersPolicy implements Policy {
  readonly id: string;
  readonly tokenizer: HuggingFaceTokenizer;
  readonly vocabularySize: number;
  readonly contextLength: number;
  readonly capabilities: PolicyCapabilities = {
    entropy: 'exact',
    logits: true,
    trainable: false,
    prefixReuse: true,
  };
  /** The folder's config.json. */
  readonly config: Readonly<Record<string, unknown>>;

  private readonly model: PreTrainedModel;
  private readonly TensorClass: TensorConstructor;
  private readonly session: OnnxSession;
  private readonly eosTokenIds: readonly number[];
  private readonly prefixCache: PrefixCache;
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

  private constructor(parts: {
    id: string;
    tokenizer: HuggingFaceTokenizer;
    model: PreTrainedModel;
    TensorClass: TensorConstructor;
    config: Record<string, unknown>;
    vocabularySize: number;
    contextLength: number;
    eosTokenIds: number[];
    options: TransformersPolicyOptions;
  }) {
    this.id = parts.id;
    this.tokenizer = parts.tokenizer;
    this.model = parts.model;
    this.TensorClass = parts.TensorClass;
    this.config = parts.config;
    this.vocabularySize = parts.vocabularySize;
    this.contextLength = parts.contextLength;
    this.eosTokenIds = parts.eosTokenIds;
    this.session = (parts.model.sessions as Record<string, OnnxSession>).model as OnnxSession;
    this.prefixCache = new PrefixCache({ maximumTokens: parts.options.prefixCacheTokens ?? 16_384 });
    this.sampler = new LogitsSampler({ vocabularySize: parts.vocabularySize });
    this.seeds = createRandom({ seed: parts.options.seed ?? 0 });
    if (parts.options.prefixCacheTokens === 0)
      this.capabilities = { ...this.capabilities, prefixReuse: false };
  }

  /**
   * Loads the folder. Typed errors: `ModelFolderError` for a missing folder, a missing or malformed config.json /
   * tokenizer.json, a missing ONNX file, or a model without a standard KV cache; `UnknownSpecialTokenError` when
   * the tokenizer has no EOS.
   */
  static async load(options: TransformersPolicyOptions): Promise<TransformersPolicy> {
    const folder = await checkModelFolder(options.folder);
    const config = (await readJsonFile(folder, 'config.json', { required: true })) as Record<string, unknown>;
    if (typeof config.model_type !== 'string') {
      throw new ModelFolderError({
        folder,
        file: 'config.json',
        problem: 'malformed-file',
        message: "no string 'model_type'",
      });
    }
    const vocabularySize = config.vocab_size;
    if (typeof vocabularySize !== 'number' || !Number.isInteger(vocabularySize) || vocabularySize <= 0) {
      throw new ModelFolderError({
        folder,
        file: 'config.json',
        problem: 'malformed-file',
        message: "no positive integer 'vocab_size'",
      });
    }
    const contextLength =
      options.contextLength ??
      [config.max_position_embeddings, config.n_positions, config.n_ctx, config.seq_length].find(
        (value): value is number => typeof value === 'number' && value > 0,
      );
    if (contextLength === undefined) {
      throw new ModelFolderError({
        folder,
        file: 'config.json',
        problem: 'malformed-file',
        message: "no context length ('max_position_embeddings' or 'n_positions'); pass options.contextLength",
      });
    }
    const modelFile = `onnx/${options.modelFileName ?? 'model'}${dtypeSuffix[options.dtype ?? 'fp32']}.onnx`;
    if (!(await hasFile(folder, modelFile))) {
      throw new ModelFolderError({
        folder,
        file: modelFile,
        problem: 'missing-file',
        message: 'ONNX model file is missing',
      });
    }
    const generationConfig = await readJsonFile(folder, 'generation_config.json', { required: false });
    const tokenizer = await loadHuggingFaceTokenizer(folder);

    const transformers = await import('@huggingface/transformers');
    let model: PreTrainedModel;
    try {
      model = await transformers.AutoModelForCausalLM.from_pretrained(folder, {
        local_files_only: true,
        dtype: options.dtype ?? 'fp32',
        device: 'cpu',
        ...(options.modelFileName === undefined ? {} : { model_file_name: options.modelFileName }),
        ...(options.sessionOptions === undefined ? {} : { session_options: options.sessionOptions }),
      });
    } catch (cause) {
      throw new ModelFolderError({
        folder,
        file: modelFile,
        problem: 'malformed-file',
        message: `@huggingface/transformers cannot load the model (${cause instanceof Error ? cause.message : String(cause)})`,
        cause,
      });
    }
    const session = (model.sessions as Record<string, OnnxSession | undefined>).model;
    const cacheInputs = session?.inputNames.filter((name) => name.startsWith('past_')) ?? [];
    if (
      session === undefined ||
      !session.inputNames.includes('input_ids') ||
      cacheInputs.length === 0 ||
      cacheInputs.some((name) => !/^past_key_values\.\d+\.(key|value)$/.test(name))
    ) {
      await model.dispose();
      throw new ModelFolderError({
        folder,
        file: modelFile,
        problem: 'unsupported-model',
        message: `needs input_ids and a standard past_key_values.{i}.key/value cache, has inputs ${session?.inputNames.join(', ')}`,
      });
    }
    const eosTokenIds = new Set<number>([tokenizer.specialTokens.eos]);
    for (const source of [generationConfig?.eos_token_id, config.eos_token_id]) {
      for (const id of Array.isArray(source) ? source : [source])
        if (typeof id === 'number') eosTokenIds.add(id);
    }
    const name = folder.split('/').filter(Boolean).at(-1) ?? 'model';
    return new TransformersPolicy({
      id: options.id ?? `transformers:${name}`,
      tokenizer,
      model,
      TensorClass: transformers.Tensor as unknown as TensorConstructor,
      config,
      vocabularySize,
      contextLength,
      eosTokenIds: [...eosTokenIds],
      options,
    });
  }

  generate(requests: readonly GenerationRequest[], options?: GenerateOptions): Promise<GenerationResult[]> {
    return this.serialise(async () => {
      this.assertOpen();
      if (options?.signal?.aborted)
        throw new AbortedError({ operation: 'generate', cause: options.signal.reason });
      const prepared = requests.map((request, index) => this.prepare(request, index));
      const results: GenerationResult[] = [];
      for (const [requestIndex, request] of prepared.entries()) {
        if (options?.signal?.aborted)
          throw new AbortedError({ operation: 'generate', cause: options.signal.reason });
        results.push(await this.generateOne(request, requestIndex, options ?? {}));
      }
      return results;
    });
  }

  /**
   * Logprobs and entropies of given completions under `softmax(logits / temperature)` (default temperature 1, the
   * distribution `generate` reports at temperature 1), one forward pass per item over the tokens not cached.
   */
  scoreTokens(
    items: readonly { promptTokenIds: ArrayLike<number>; completionTokenIds: ArrayLike<number> }[],
    options?: { temperature?: number },
  ): Promise<{ logprobs: Float32Array; entropies: Float32Array }[]> {
    return this.serialise(async () => {
      this.assertOpen();
      const temperature = options?.temperature ?? 1;
      const results: { logprobs: Float32Array; entropies: Float32Array }[] = [];
      for (const [index, item] of items.entries()) {
        const prompt = this.checkTokens(item.promptTokenIds, `items[${index}].promptTokenIds`);
        const completion = this.checkTokens(
          item.completionTokenIds,
          `items[${index}].completionTokenIds`,
          true,
        );
        const total = prompt.length + completion.length;
        if (total > this.contextLength) {
          throw new ContextLengthError({
            promptTokens: total,
            contextLength: this.contextLength,
            source: `items[${index}]`,
          });
        }
        const full = new Int32Array(total);
        full.set(prompt);
        full.set(completion, prompt.length);
        const logprobs = new Float32Array(completion.length);
        const entropies = new Float32Array(completion.length);
        if (completion.length > 0) {
          // Logits at positions prompt.length − 1 … total − 2 predict the completion; reuse at most up to there.
          const found = this.prefixCache.lookup(full);
          const reused = found === undefined ? 0 : Math.min(found.commonLength, prompt.length - 1);
          const past = reused > 0 && found !== undefined ? found.entry.cache.select([0], reused) : undefined;
          const outputs = await this.forward(full.subarray(reused, total - 1), 1, past, false);
          const logits = this.logitsOf(outputs);
          this.counters.computedTokens += total - 1 - reused;
          this.counters.reusedTokens += reused;
          for (let position = 0; position < completion.length; position++) {
            const row = prompt.length - 1 + position - reused;
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

  /** Drops every cached prefix. */
  clearPrefixCache(): void {
    this.prefixCache.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.prefixCache.clear();
    await this.queue.catch(() => undefined);
    await this.model.dispose();
  }

  private prepare(request: GenerationRequest, index: number) {
    const sampling = resolveSamplingOptions(request.sampling, `requests[${index}].sampling`);
    const n = resolveContinuationCount(request.n, index);
    const prompt = this.checkTokens(request.promptTokenIds, `requests[${index}].promptTokenIds`);
    if (prompt.length >= this.contextLength) {
      throw new ContextLengthError({
        promptTokens: prompt.length,
        contextLength: this.contextLength,
        source: `requests[${index}].promptTokenIds`,
      });
    }
    return { prompt, sampling, n };
  }

  private async generateOne(
    request: { prompt: Int32Array; sampling: ResolvedSamplingOptions; n: number },
    requestIndex: number,
    { signal, onToken }: GenerateOptions,
  ): Promise<GenerationResult> {
    const { prompt, sampling, n } = request;
    const vocabularySize = this.vocabularySize;
    const found = this.prefixCache.lookup(prompt);
    let reused = 0;
    let promptCache: KeyValueCache;
    let promptLogits: Float32Array;
    if (
      found !== undefined &&
      found.commonLength === prompt.length &&
      found.entry.tokenIds.length === prompt.length
    ) {
      reused = prompt.length;
      promptCache = found.entry.cache;
      promptLogits = found.entry.nextLogits;
    } else {
      reused = found === undefined ? 0 : Math.min(found.commonLength, prompt.length - 1);
      const past = reused > 0 && found !== undefined ? found.entry.cache.select([0], reused) : undefined;
      const outputs = await this.forward(prompt.subarray(reused), 1, past, true);
      const logits = this.logitsOf(outputs);
      const steps = logits.length / vocabularySize;
      promptLogits = logits.slice((steps - 1) * vocabularySize, steps * vocabularySize);
      promptCache = KeyValueCache.fromPresent(outputs, this.TensorClass);
      this.prefixCache.store({ tokenIds: prompt.slice(), cache: promptCache, nextLogits: promptLogits });
    }
    this.counters.computedTokens += prompt.length - reused;
    this.counters.reusedTokens += reused;
    this.counters.requests++;

    const baseSeed = sampling.seed ?? this.seeds.nextUint32();
    const sequences: LoopSequence[] = Array.from({ length: n }, (_, index) => ({
      sampling,
      seed: n > 1 ? deriveSeed(baseSeed, index) : baseSeed,
      contextRemaining: this.contextLength - prompt.length,
    }));
    const initialLogits = new Float32Array(n * vocabularySize);
    for (let row = 0; row < n; row++) initialLogits.set(promptLogits, row * vocabularySize);

    // Rows of `cache` are the sequences in `cacheRows`; `lastLogits` the logits each row sampled from last.
    let cache = promptCache.select(new Array<number>(n).fill(0));
    let cacheRows: number[] = Array.from({ length: n }, (_, index) => index);
    let lastLogits: Float32Array = initialLogits;
    const results = await runGenerationLoop({
      sequences,
      vocabularySize,
      initialLogits,
      eosTokenIds: this.eosTokenIds,
      decode: (tokenIds) => this.tokenizer.decode(tokenIds, { skipSpecialTokens: true }),
      ...(signal === undefined ? {} : { signal }),
      ...(onToken === undefined
        ? {}
        : {
            onToken,
            owners: Array.from({ length: n }, (_, sequenceIndex) => ({ requestIndex, sequenceIndex })),
          }),
      sampler: this.sampler,
      onSequenceFinished: (index, sequence) => {
        // Keep the branch (prompt + all but its last token, whose keys are not computed yet) for later reuse.
        const row = cacheRows.indexOf(index);
        const length = sequence.tokenIds.length;
        if (row < 0 || length < 2 || cache.length !== prompt.length + length - 1) return;
        const tokenIds = new Int32Array(prompt.length + length - 1);
        tokenIds.set(prompt);
        tokenIds.set(sequence.tokenIds.subarray(0, length - 1), prompt.length);
        this.prefixCache.store({
          tokenIds,
          cache: cache.select([row]),
          nextLogits: lastLogits.slice(row * vocabularySize, (row + 1) * vocabularySize),
        });
      },
      step: async ({ rows, tokenIds }) => {
        const keep = Array.from(rows, (index) => cacheRows.indexOf(index));
        if (keep.length !== cacheRows.length) cache = cache.select(keep);
        cacheRows = Array.from(rows);
        const outputs = await this.forward(tokenIds, rows.length, cache, true);
        cache = KeyValueCache.fromPresent(outputs, this.TensorClass);
        this.counters.computedTokens += rows.length;
        lastLogits = this.logitsOf(outputs);
        return lastLogits;
      },
    });
    let completionTokens = 0;
    for (const sequence of results) completionTokens += sequence.tokenIds.length;
    this.counters.generatedTokens += completionTokens;
    return {
      sequences: results as GeneratedSequence[],
      usage: {
        promptTokens: prompt.length,
        reusedPromptTokens: reused,
        computedPromptTokens: prompt.length - reused,
        completionTokens,
      },
    };
  }

  /** Runs `tokenIds` ([batch, length], row-major) after `past` through the model. */
  private async forward(
    tokenIds: Int32Array,
    batch: number,
    past: KeyValueCache | undefined,
    lastLogitsOnly: boolean,
  ): Promise<ForwardOutputs> {
    const length = tokenIds.length / batch;
    const pastLength = past?.length ?? 0;
    const TensorClass = this.TensorClass;
    const inputIds = new BigInt64Array(tokenIds.length);
    for (let index = 0; index < tokenIds.length; index++) inputIds[index] = BigInt(tokenIds[index] as number);
    const attentionMask = new BigInt64Array(batch * (pastLength + length)).fill(1n);
    const positionIds = new BigInt64Array(batch * length);
    for (let row = 0; row < batch; row++) {
      for (let position = 0; position < length; position++)
        positionIds[row * length + position] = BigInt(pastLength + position);
    }
    const inputs: Record<string, unknown> = {
      input_ids: new TensorClass('int64', inputIds, [batch, length]),
      attention_mask: new TensorClass('int64', attentionMask, [batch, pastLength + length]),
      position_ids: new TensorClass('int64', positionIds, [batch, length]),
    };
    if (this.session.inputNames.includes('num_logits_to_keep')) {
      inputs.num_logits_to_keep = new TensorClass('int64', BigInt64Array.of(lastLogitsOnly ? 1n : 0n), []);
    }
    if (past !== undefined && past.length > 0) inputs.past_key_values = { ...past.tensors };
    return (await this.model.forward(inputs)) as ForwardOutputs;
  }

  /** Logits as float32, [rows × vocabularySize] for the last position of each row when only those were kept. */
  private logitsOf(outputs: ForwardOutputs): Float32Array {
    const logits = outputs.logits;
    if (logits === undefined)
      throw new InvalidArgumentError({ argument: 'model', message: "forward pass returned no 'logits'" });
    const width = logits.dims.at(-1);
    if (width !== this.vocabularySize) {
      throw new InvalidArgumentError({
        argument: 'model',
        message: `logits have ${width} columns but config.json vocab_size is ${this.vocabularySize}`,
      });
    }
    const data = logits.type === 'float32' ? logits.data : logits.to('float32').data;
    return data as Float32Array;
  }

  private checkTokens(tokenIds: ArrayLike<number>, argument: string, allowEmpty = false): Int32Array {
    if (tokenIds.length === 0 && !allowEmpty)
      throw new InvalidArgumentError({ argument, message: 'no tokens' });
    const result = new Int32Array(tokenIds.length);
    for (let index = 0; index < tokenIds.length; index++) {
      const id = tokenIds[index] as number;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabularySize) {
        throw new InvalidArgumentError({
          argument,
          message: `token ${index} is ${id}, outside [0, ${this.vocabularySize})`,
        });
      }
      result[index] = id;
    }
    return result;
  }

  private assertOpen(): void {
    if (this.closed) throw new InvalidArgumentError({ argument: 'policy', message: `${this.id} is closed` });
  }

  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
