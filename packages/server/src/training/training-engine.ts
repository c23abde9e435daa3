import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  GenerationRequest,
  GenerationResult,
  LossConfig,
  OptimizerConfig,
  SamplingOptions,
  TrainingDatum,
} from '@arpo/core';
import { NativePolicy } from '@arpo/policy';
import { readSafetensors, type TensorValue, writeSafetensors } from '@arpo/tensor';
import {
  arpoTinkerExtensions,
  checkpointNamePattern,
  LocalTrainerBackend,
  type TinkerForwardBackwardInput,
  type TinkerSamplingParams,
} from '@arpo/trainer';
import { FutureStore } from './future-store.js';
import { HostedModel, type LocalModelFactory, type RequestLoss, type SampleEntry } from './hosted-model.js';
import { TrainingApiError } from './training-api-error.js';

export interface TrainingEngineOptions {
  /** Base model names → factories of the local model (the server's `supported_models`). */
  createModel: Readonly<Record<string, LocalModelFactory>>;
  /** Where training and persistent sampler checkpoints go. */
  directory: string;
  /**
   * `sum` (default): token losses are summed, as hosted Tinker and SkyRL-Train do. `sequence_mean`: SkyRL JAX's
   * reduction (mean over each datum's mask, then over the datums of the optimizer step), for testing clients.
   */
  reduction?: 'sum' | 'sequence_mean';
  /** How long `retrieve_future` waits before answering 408. Default 300 000 (SkyRL's). */
  retrieveTimeoutMs?: number;
  /** Live models at once. Default 8. */
  maxModels?: number;
  /** Ephemeral sampler checkpoints kept in memory per model (older ones are evicted). Default 4. */
  maxSamplerSnapshots?: number;
  /** onnxruntime threads per model. Default 2. */
  threads?: number;
}

type Json = Record<string, unknown>;

const badRequest = (detail: string) => new TrainingApiError({ status: 400, detail });
const notFound = (detail: string) => new TrainingApiError({ status: 404, detail });
const unprocessable = (loc: (string | number)[], msg: string) =>
  new TrainingApiError({ status: 422, detail: [{ type: 'value_error', loc: ['body', ...loc], msg }] });

function hexId(prefix: string, counter: number): string {
  return `${prefix}_${counter.toString(16).padStart(8, '0')}`;
}

function copyParameters(parameters: ReadonlyMap<string, TensorValue>): Map<string, TensorValue> {
  const copy = new Map<string, TensorValue>();
  for (const [name, value] of parameters) {
    copy.set(name, { data: (value.data as Float32Array).slice(), shape: [...value.shape] });
  }
  return copy;
}

const allowedLossConfigKeys: Record<string, readonly string[]> = {
  cross_entropy: [],
  importance_sampling: [],
  ppo: ['clip_low_threshold', 'clip_high_threshold', 'value_clip'],
  cispo: ['clip_low_threshold', 'clip_high_threshold'],
  gspo: ['clip_low_threshold', 'clip_high_threshold'],
  dppo: ['delta_low', 'delta_high'],
  ppo_critic: ['value_clip'],
};

/** A parsed `tinker://<model>/...` path. */
function parseTinkerPath(path: string): {
  modelId: string;
  kind: 'weights' | 'sampler_weights' | 'short';
  name: string;
} {
  const match = /^tinker:\/\/([^/]+)\/(?:(weights|sampler_weights)\/)?([^/]+)$/.exec(path);
  if (match === null)
    throw badRequest(`'${path}' is not a tinker://<model_id>/[weights|sampler_weights/]<name> path`);
  const [, modelId, kind, name] = match as unknown as [string, string, string | undefined, string];
  return { modelId, kind: (kind ?? 'short') as 'weights' | 'sampler_weights' | 'short', name };
}

/**
 * The state and the operations of the training API server: sessions, models hosted on @arpo/tensor +
 * LocalTrainerBackend + NativePolicy, futures (every state-changing request is queued and executed in arrival
 * order per model), sampler checkpoints and sampling sessions, training checkpoints. Request bodies arrive
 * already validated against the wire schemas of @arpo/trainer; semantic checks (unknown ids, lengths, token
 * ranges, loss names) throw TrainingApiError with SkyRL's status codes.
 */
export class TrainingEngine {
  readonly futures = new FutureStore();
  private readonly options: TrainingEngineOptions;
  private readonly sessions = new Map<string, { lastHeartbeat: number | undefined }>();
  private readonly models = new Map<string, HostedModel>();
  private readonly samplingSessions = new Map<string, { modelId: string; checkpoint: string }>();
  private sessionCounter = 0;
  private modelCounter = 0;
  private samplingCounter = 0;

  constructor(options: TrainingEngineOptions) {
    this.options = options;
  }

  get retrieveTimeoutMs(): number {
    return this.options.retrieveTimeoutMs ?? 300_000;
  }

  capabilities(): Json {
    return {
      supported_models: Object.keys(this.options.createModel).map((name) => ({ model_name: name })),
      arpo_extensions: Object.values(arpoTinkerExtensions),
      reduction: this.options.reduction ?? 'sum',
    };
  }

  createSession(): Json {
    const id = hexId('session', ++this.sessionCounter);
    this.sessions.set(id, { lastHeartbeat: undefined });
    return {
      type: 'create_session',
      session_id: id,
      info_message: null,
      warning_message: null,
      error_message: null,
    };
  }

  heartbeat(sessionId: string): Json {
    const session = this.sessions.get(sessionId);
    if (session === undefined) throw notFound('Session not found');
    session.lastHeartbeat = Date.now();
    return { type: 'session_heartbeat' };
  }

  private model(modelId: string): HostedModel {
    const model = this.models.get(modelId);
    if (model === undefined || model.status === 'unloaded') throw notFound(`Model '${modelId}' not found`);
    return model;
  }

  /** Queues `work` on the model; returns the future descriptor. */
  private schedule(model: HostedModel, work: () => Promise<unknown>): Json {
    const requestId = this.futures.create();
    model.requestCount++;
    model.lastRequestTime = new Date().toISOString();
    model.enqueue(async () => {
      try {
        if (model.status !== 'ready') throw new Error(`model ${model.id} is ${model.status}`);
        this.futures.complete(requestId, await work());
      } catch (error) {
        this.futures.fail(requestId, error instanceof Error ? error.message : String(error));
      }
    });
    return { future_id: requestId, status: 'pending', request_id: requestId };
  }

  /** seq_id dedup (forward_backward, forward, optim_step): same payload → same future; other payload → 409. */
  private deduplicated(
    model: HostedModel,
    sequenceId: number | null | undefined,
    body: unknown,
    run: () => Json,
  ): Json {
    if (sequenceId == null) return run();
    const key = JSON.stringify(body);
    const seen = model.sequenceIds.get(sequenceId);
    if (seen !== undefined) {
      if (seen.key !== key) {
        throw new TrainingApiError({ status: 409, detail: 'Training request sequence number was reused' });
      }
      return { future_id: seen.requestId, status: 'pending', request_id: seen.requestId };
    }
    const descriptor = run();
    model.sequenceIds.set(sequenceId, { key, requestId: String(descriptor.request_id) });
    return descriptor;
  }

  createModel(body: {
    session_id: string;
    base_model: string;
    lora_config: { rank: number; seed?: number | null | undefined };
  }): Json {
    if (!this.sessions.has(body.session_id)) throw notFound('Session not found');
    const factory = this.options.createModel[body.base_model];
    if (factory === undefined) {
      const known = Object.keys(this.options.createModel).join(', ');
      throw badRequest(`Unknown base model '${body.base_model}'; this server hosts: ${known}`);
    }
    const live = [...this.models.values()].filter((model) => model.status !== 'unloaded').length;
    if (live >= (this.options.maxModels ?? 8)) {
      throw badRequest(
        `Too many models: at most ${this.options.maxModels ?? 8} may be loaded; unload one first`,
      );
    }
    const id = hexId('model', ++this.modelCounter);
    const seed = body.lora_config.seed ?? undefined;
    const model = new HostedModel({
      id,
      baseModel: body.base_model,
      rank: body.lora_config.rank,
      seed,
      directory: join(this.options.directory, id),
    });
    this.models.set(id, model);
    const requestId = this.futures.create();
    model.enqueue(async () => {
      try {
        const parts = await factory({ seed, rank: body.lora_config.rank });
        const parameters = copyParameters(parts.parameters);
        const sampler = await NativePolicy.create({
          model: parts.model,
          parameters,
          tokenizer: parts.tokenizer,
          id: `${body.base_model}:${id}`,
          threads: this.options.threads ?? 2,
          ...(seed === undefined ? {} : { seed }),
        });
        model.backend = new LocalTrainerBackend({
          model: parts.model,
          parameters,
          policy: sampler,
          directory: join(model.directory, 'weights'),
          threads: this.options.threads ?? 2,
        });
        model.sampler = sampler;
        model.contextLength = parts.model.config.contextLength;
        model.vocabularySize = parts.model.config.vocabSize;
        model.status = 'ready';
        this.futures.complete(requestId, {
          model_id: id,
          base_model: body.base_model,
          lora_config: {
            rank: body.lora_config.rank,
            alpha: 32,
            seed: seed ?? null,
            train_attn: true,
            train_mlp: true,
            train_unembed: true,
          },
        });
      } catch (error) {
        model.status = 'failed';
        this.futures.fail(
          requestId,
          `create_model failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
    return {
      model_id: id,
      base_model: body.base_model,
      lora_config: body.lora_config,
      status: 'created',
      request_id: requestId,
    };
  }

  getInfo(modelId: string): Json {
    const model = this.model(modelId);
    return {
      model_id: model.id,
      status: model.status,
      model_data: {
        base_model: model.baseModel,
        lora_config: { rank: model.rank, seed: model.seed ?? null },
        model_name: model.baseModel,
      },
    };
  }

  unloadModel(modelId: string): Json {
    const model = this.model(modelId);
    const descriptor = this.schedule(model, async () => {
      model.status = 'unloaded';
      await model.backend?.close();
      await model.sampler?.close();
      model.backend = undefined;
      model.sampler = undefined;
      model.samplerCheckpoints.clear();
      return { model_id: model.id, status: 'unloaded', type: 'unload_model' };
    });
    return { request_id: descriptor.request_id, model_id: model.id };
  }

  private datums(model: HostedModel, input: TinkerForwardBackwardInput, field: string): TrainingDatum[] {
    return input.data.map((datum, row) => {
      const where = [field, 'data', row];
      const tokens: number[] = [];
      for (const chunk of datum.model_input.chunks) for (const token of chunk.tokens) tokens.push(token);
      const length = tokens.length;
      if (length === 0) throw unprocessable([...where, 'model_input'], 'has no tokens');
      if (length > model.contextLength) {
        throw badRequest(
          `datum ${row}: ${length} tokens exceed the model's context of ${model.contextLength}`,
        );
      }
      const inputs = datum.loss_fn_inputs;
      const target = inputs.target_tokens;
      if (target === undefined) throw badRequest(`datum ${row}: loss_fn_inputs.target_tokens is required`);
      const check = (name: string, values: number[], allowEmpty: boolean) => {
        if (values.length === length || (allowEmpty && values.length === 0)) return;
        throw badRequest(
          `datum ${row}: loss_fn_inputs.${name} has ${values.length} entries; model_input has ${length} tokens`,
        );
      };
      check('target_tokens', target.data, false);
      for (const [index, id] of [...tokens.entries(), ...target.data.entries()]) {
        if (!Number.isInteger(id) || id < 0 || id >= model.vocabularySize) {
          throw badRequest(`datum ${row}: token ${index} is ${id}, not an id below ${model.vocabularySize}`);
        }
      }
      const converted: TrainingDatum = {
        inputTokenIds: Int32Array.from(tokens),
        targetTokenIds: Int32Array.from(target.data),
      };
      for (const [name, key] of [
        ['weights', 'weights'],
        ['logprobs', 'logprobs'],
        ['advantages', 'advantages'],
      ] as const) {
        const values = inputs[name]?.data;
        if (values === undefined) continue;
        check(name, values, name !== 'weights');
        if (values.length > 0) converted[key] = Float32Array.from(values);
      }
      return converted;
    });
  }

  private lossConfig(input: TinkerForwardBackwardInput, field: string): RequestLoss {
    const config = input.loss_fn_config ?? {};
    const allowed = allowedLossConfigKeys[input.loss_fn] ?? [];
    for (const key of Object.keys(config)) {
      if (!allowed.includes(key))
        throw unprocessable([field, 'loss_fn_config', key], `not allowed for loss_fn '${input.loss_fn}'`);
    }
    if (input.loss_fn === 'cross_entropy' || input.loss_fn === 'importance_sampling')
      return { lossFunction: input.loss_fn };
    if (input.loss_fn === 'ppo') {
      const low = config.clip_low_threshold ?? 0.8;
      const high = config.clip_high_threshold ?? 1.2;
      if (!(low >= 0 && low <= 1) || !(high >= 1)) {
        throw badRequest(
          `ppo clip thresholds must satisfy 0 ≤ clip_low_threshold ≤ 1 ≤ clip_high_threshold, got ${low} and ${high}`,
        );
      }
      return { lossFunction: 'ppo', clipLow: 1 - low, clipHigh: high - 1 };
    }
    throw badRequest(
      `Loss functions ['${input.loss_fn}'] are not supported by the ARPO.ts engine (cross_entropy, importance_sampling, ppo)`,
    );
  }

  private toLossConfig(
    batch: RequestLoss,
    aggregation: LossConfig['aggregation'],
    normalizer?: number,
  ): LossConfig {
    const loss: LossConfig = { lossFunction: batch.lossFunction, aggregation };
    if (batch.clipLow !== undefined) loss.clipLow = batch.clipLow;
    if (batch.clipHigh !== undefined) loss.clipHigh = batch.clipHigh;
    if (normalizer !== undefined) loss.normalizer = normalizer;
    return loss;
  }

  private static lossOutputs(logprobs: readonly Float32Array[]): Json {
    return {
      loss_fn_output_type: 'scalar',
      loss_fn_outputs: logprobs.map((values) => ({
        logprobs: { data: Array.from(values), dtype: 'float32', shape: [values.length] },
      })),
    };
  }

  forwardBackward(
    body: { model_id: string; seq_id?: number | null | undefined } & (
      | { forward_backward_input: TinkerForwardBackwardInput }
      | { forward_input: TinkerForwardBackwardInput }
    ),
  ): Json {
    const model = this.model(body.model_id);
    const forwardOnly = 'forward_input' in body;
    const field = forwardOnly ? 'forward_input' : 'forward_backward_input';
    const input = 'forward_input' in body ? body.forward_input : body.forward_backward_input;
    const loss = this.lossConfig(input, field);
    return this.deduplicated(model, body.seq_id, body, () => {
      // Token checks need the loaded model: a model still loading validates when its turn comes.
      const eager = model.status === 'ready' ? this.datums(model, input, field) : undefined;
      return this.schedule(model, async () => {
        const backend = model.backend as LocalTrainerBackend;
        const datums = eager ?? this.datums(model, input, field);
        if (forwardOnly) {
          const { logprobs } = await backend.forward(datums);
          return { ...TrainingEngine.lossOutputs(logprobs), metrics: {} };
        }
        if ((this.options.reduction ?? 'sum') === 'sequence_mean') {
          // The divisor (datums of the whole step) is known at optim_step: compute the gradient then.
          const { logprobs } = await backend.forward(datums);
          model.deferred.push({ datums, ...loss });
          return { ...TrainingEngine.lossOutputs(logprobs), metrics: {} };
        }
        const result = await backend.forwardBackward(datums, this.toLossConfig(loss, 'token-sum'));
        const metrics: Record<string, number> = {};
        for (const [name, value] of Object.entries(result.metrics)) {
          metrics[`${name}:${name === 'loss' || name === 'policy_loss' ? 'sum' : 'mean'}`] = value;
        }
        return { ...TrainingEngine.lossOutputs(result.logprobs), metrics };
      });
    });
  }

  optimStep(body: {
    model_id: string;
    seq_id?: number | null | undefined;
    adam_params: {
      learning_rate?: number | undefined;
      beta1?: number | undefined;
      beta2?: number | undefined;
      eps?: number | undefined;
      weight_decay?: number | undefined;
      grad_clip_norm?: number | undefined;
    };
  }): Json {
    const model = this.model(body.model_id);
    const adam = body.adam_params;
    const learningRate = adam.learning_rate ?? 1e-4;
    if (!(learningRate > 0)) throw badRequest('adam_params.learning_rate must be > 0 on this server');
    const optimizer: OptimizerConfig = {
      learningRate,
      beta1: adam.beta1 ?? 0.9,
      beta2: adam.beta2 ?? 0.95,
      epsilon: adam.eps ?? 1e-12,
      weightDecay: adam.weight_decay ?? 0,
    };
    if (adam.grad_clip_norm !== undefined && adam.grad_clip_norm > 0)
      optimizer.maxGradientNorm = adam.grad_clip_norm;
    return this.deduplicated(model, body.seq_id, body, () =>
      this.schedule(model, async () => {
        const backend = model.backend as LocalTrainerBackend;
        const deferred = model.deferred;
        model.deferred = [];
        const datums = deferred.reduce((sum, batch) => sum + batch.datums.length, 0);
        for (const batch of deferred) {
          await backend.forwardBackward(
            batch.datums,
            this.toLossConfig(batch, 'seq-mean-token-mean', datums),
          );
        }
        const { metrics } = await backend.optimStep(optimizer);
        // The trainer refreshed the sampling policy with the live weights.
        model.loadedSampler = undefined;
        return {
          metrics: {
            'skyrl.ai/grad_norm': metrics.gradient_norm ?? null,
            'skyrl.ai/learning_rate': metrics.learning_rate ?? learningRate,
            ...metrics,
          },
        };
      }),
    );
  }

  private evictSamplerSnapshots(model: HostedModel): void {
    const ephemeral = [...model.samplerCheckpoints.entries()].filter(
      ([, checkpoint]) => checkpoint.ephemeral && checkpoint.state === 'done',
    );
    const limit = this.options.maxSamplerSnapshots ?? 4;
    for (const [name] of ephemeral.slice(0, Math.max(0, ephemeral.length - limit)))
      model.samplerCheckpoints.delete(name);
  }

  saveWeightsForSampler(body: {
    model_id: string;
    path?: string | null | undefined;
    sampling_session_seq_id?: number | null | undefined;
    seq_id?: number | null | undefined;
  }): Json {
    const model = this.model(body.model_id);
    const ephemeral = body.path == null;
    const name = body.path ?? `ss${body.sampling_session_seq_id}_seq${body.seq_id}`;
    if (model.samplerCheckpoints.has(name)) {
      throw new TrainingApiError({
        status: 409,
        detail: `Sampler checkpoint '${name}' already exists for ${model.id}`,
      });
    }
    const checkpoint = { state: 'pending' as const, ephemeral, time: new Date().toISOString() };
    model.samplerCheckpoints.set(name, { ...checkpoint });
    return this.schedule(model, async () => {
      const entry = model.samplerCheckpoints.get(name);
      if (entry === undefined) throw new Error(`sampler checkpoint '${name}' was deleted`);
      try {
        entry.parameters = copyParameters((model.backend as LocalTrainerBackend).parameters);
        if (!ephemeral) {
          const directory = join(model.directory, 'sampler_weights');
          await mkdir(directory, { recursive: true });
          entry.file = join(directory, `${name}.safetensors`);
          await writeSafetensors(entry.file, entry.parameters, { format: 'arpo-sampler-weights' });
        }
        entry.state = 'done';
      } catch (error) {
        entry.state = 'failed';
        throw error;
      }
      this.evictSamplerSnapshots(model);
      let samplingSessionId: string | null = null;
      if (ephemeral) {
        samplingSessionId = hexId('sampling', ++this.samplingCounter);
        this.samplingSessions.set(samplingSessionId, { modelId: model.id, checkpoint: name });
      }
      return {
        path: ephemeral ? null : `tinker://${model.id}/${name}`,
        type: 'save_weights_for_sampler',
        sampling_session_id: samplingSessionId,
      };
    });
  }

  createSamplingSession(body: {
    session_id: string;
    base_model?: string | null | undefined;
    model_path?: string | null | undefined;
  }): Json {
    if (!this.sessions.has(body.session_id)) throw notFound('Session not found');
    if (body.model_path == null)
      throw badRequest(
        'Base-model sampling is not supported by this server: save weights for the sampler and pass model_path',
      );
    const { modelId, name } = this.samplerCheckpoint(body.model_path);
    const id = hexId('sampling', ++this.samplingCounter);
    this.samplingSessions.set(id, { modelId, checkpoint: name });
    return { type: 'create_sampling_session', sampling_session_id: id };
  }

  getSampler(samplerId: string): Json {
    const session = this.samplingSessions.get(samplerId);
    if (session === undefined) throw notFound('Sampler not found');
    const model = this.models.get(session.modelId);
    return {
      sampler_id: samplerId,
      base_model: model?.baseModel ?? null,
      model_path: `tinker://${session.modelId}/${session.checkpoint}`,
    };
  }

  private samplerCheckpoint(path: string): { modelId: string; name: string } {
    const parsed = parseTinkerPath(path);
    if (parsed.kind === 'weights')
      throw badRequest(`'${path}' is a training checkpoint; sample from sampler weights`);
    return { modelId: parsed.modelId, name: parsed.name };
  }

  sample(body: {
    sampling_session_id?: string | null | undefined;
    base_model?: string | null | undefined;
    model_path?: string | null | undefined;
    prompt: { chunks: { tokens: number[] }[] };
    num_samples?: number | undefined;
    sampling_params: TinkerSamplingParams;
    prompt_logprobs?: boolean | null | undefined;
    topk_prompt_logprobs?: number | null | undefined;
  }): Json {
    let target: { modelId: string; name: string };
    if (body.sampling_session_id != null) {
      if (body.sampling_session_id.includes(':'))
        throw badRequest("sampling_session_id must not contain ':'");
      const session = this.samplingSessions.get(body.sampling_session_id);
      if (session === undefined) throw notFound(`Sampling session '${body.sampling_session_id}' not found`);
      target = { modelId: session.modelId, name: session.checkpoint };
    } else if (body.model_path != null) {
      target = this.samplerCheckpoint(body.model_path);
    } else if (body.base_model != null) {
      throw badRequest(
        'Base-model sampling is not supported by this server: save weights for the sampler first',
      );
    } else {
      throw unprocessable([], 'one of sampling_session_id, model_path or base_model is required');
    }
    const model = this.model(target.modelId);
    const checkpoint = model.samplerCheckpoints.get(target.name);
    if (checkpoint === undefined)
      throw notFound(`Sampler checkpoint '${target.name}' of ${model.id} not found (never saved or evicted)`);
    if (checkpoint.state === 'pending')
      throw new TrainingApiError({ status: 425, detail: 'Checkpoint is still being created' });
    if (checkpoint.state === 'failed')
      throw new TrainingApiError({ status: 500, detail: 'Checkpoint creation failed' });
    if (body.prompt_logprobs === true || (body.topk_prompt_logprobs ?? 0) > 0) {
      throw badRequest('prompt_logprobs and topk_prompt_logprobs are not supported by this server');
    }
    const params = body.sampling_params;
    if (params.max_tokens == null || params.max_tokens <= 0)
      throw badRequest('sampling_params.max_tokens is required and must be > 0');
    const stops = params.stop ?? [];
    const stopIds = stops.filter((stop): stop is number => typeof stop === 'number');
    const stopStrings = stops.filter((stop): stop is string => typeof stop === 'string');
    if (stopIds.length > 0 && stopStrings.length > 0)
      throw badRequest('sampling_params.stop must be all token ids or all strings, not mixed');
    const prompt: number[] = [];
    for (const chunk of body.prompt.chunks) for (const token of chunk.tokens) prompt.push(token);
    if (prompt.length === 0) throw badRequest('prompt has no tokens');
    if (model.status === 'ready') {
      if (prompt.length >= model.contextLength) {
        throw badRequest(`prompt has ${prompt.length} tokens; the model's context is ${model.contextLength}`);
      }
      const bad = prompt.findIndex((id) => id < 0 || id >= model.vocabularySize);
      if (bad >= 0)
        throw badRequest(`prompt token ${bad} is ${prompt[bad]}, not an id below ${model.vocabularySize}`);
    }
    const sampling: SamplingOptions = { maxTokens: params.max_tokens };
    if (params.temperature !== undefined) sampling.temperature = params.temperature;
    if (params.top_p !== undefined) sampling.topP = params.top_p;
    if (params.top_k !== undefined && params.top_k > 0) sampling.topK = params.top_k;
    if (params.seed != null) sampling.seed = params.seed;
    if (stopStrings.length > 0) sampling.stop = stopStrings;
    if (params.top_logprobs !== undefined && params.top_logprobs > 0)
      sampling.topLogprobs = params.top_logprobs;
    const request: GenerationRequest = { promptTokenIds: prompt, sampling, n: body.num_samples ?? 1 };
    const requestId = this.futures.create();
    // Sample requests of a model are batched: the first queued task runs every sample pending at that time.
    // Sampler checkpoints are immutable snapshots, so running a sample early cannot change its result.
    model.sampleBatch.push({ requestId, checkpoint: target.name, request, stopIds });
    model.lastRequestTime = new Date().toISOString();
    model.enqueue(() => this.runSamples(model));
    return { future_id: requestId, status: 'pending', request_id: requestId };
  }

  private async runSamples(model: HostedModel): Promise<void> {
    const batch = model.sampleBatch;
    model.sampleBatch = [];
    const groups = new Map<string, SampleEntry[]>();
    for (const entry of batch) groups.set(entry.checkpoint, [...(groups.get(entry.checkpoint) ?? []), entry]);
    for (const [name, entries] of groups) {
      try {
        if (model.status !== 'ready') throw new Error(`model ${model.id} is ${model.status}`);
        const checkpoint = model.samplerCheckpoints.get(name);
        if (checkpoint?.parameters === undefined && checkpoint?.file === undefined) {
          throw new Error(`sampler checkpoint '${name}' of ${model.id} was evicted`);
        }
        const sampler = model.sampler as NativePolicy;
        if (model.loadedSampler !== name) {
          checkpoint.parameters ??= (await readSafetensors(checkpoint.file as string)).tensors as Map<
            string,
            TensorValue
          >;
          sampler.setParameters(checkpoint.parameters);
          model.loadedSampler = name;
        }
        const results = await sampler.generate(entries.map((entry) => entry.request));
        entries.forEach((entry, index) => {
          const result = sampleResult(results[index] as GenerationResult, entry.stopIds, entry.request);
          this.futures.complete(entry.requestId, result);
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        for (const entry of entries) this.futures.fail(entry.requestId, message);
      }
    }
  }

  saveWeights(body: { model_id: string; path: string }): Json {
    const model = this.model(body.model_id);
    if (model.trainingCheckpoints.has(body.path)) {
      throw new TrainingApiError({
        status: 409,
        detail: `Checkpoint '${body.path}' already exists for ${model.id}`,
      });
    }
    const entry = {
      state: 'pending' as 'pending' | 'done' | 'failed',
      directory: join(model.directory, 'weights', body.path),
      time: new Date().toISOString(),
    };
    model.trainingCheckpoints.set(body.path, entry);
    return this.schedule(model, async () => {
      try {
        const { path } = await (model.backend as LocalTrainerBackend).saveState(body.path);
        await writeFile(
          join(path, 'tinker.json'),
          `${JSON.stringify({ base_model: model.baseModel, lora_rank: model.rank, model_id: model.id }, null, 2)}\n`,
        );
        entry.state = 'done';
      } catch (error) {
        entry.state = 'failed';
        throw error;
      }
      return { path: `tinker://${model.id}/weights/${body.path}`, type: 'save_weights' };
    });
  }

  private trainingCheckpointDirectory(path: string): string {
    const parsed = parseTinkerPath(path);
    if (parsed.kind !== 'weights')
      throw badRequest(`'${path}' is not a training checkpoint (tinker://<model_id>/weights/<name>)`);
    if (!checkpointNamePattern.test(parsed.name) || !/^[A-Za-z0-9_]+$/.test(parsed.modelId))
      throw badRequest(`'${path}' has an invalid name`);
    const directory = join(this.options.directory, parsed.modelId, 'weights', parsed.name);
    const pending = this.models.get(parsed.modelId)?.trainingCheckpoints.get(parsed.name);
    if (pending?.state === 'pending')
      throw new TrainingApiError({ status: 425, detail: 'Checkpoint is still being created' });
    if (!existsSync(join(directory, 'tinker.json'))) throw notFound(`Checkpoint '${path}' not found`);
    return directory;
  }

  async weightsInfo(path: string): Promise<Json> {
    const directory = this.trainingCheckpointDirectory(path);
    const manifest = JSON.parse(await readFile(join(directory, 'tinker.json'), 'utf8')) as {
      base_model: string;
      lora_rank: number;
    };
    return { base_model: manifest.base_model, is_lora: false, lora_rank: manifest.lora_rank };
  }

  loadWeights(body: { model_id: string; path: string; optimizer?: boolean | undefined }): Json {
    const model = this.model(body.model_id);
    if (model.requestCount > 0) {
      throw badRequest(
        `LoadWeights is only permitted as the first request of a model; ${model.id} has had ${model.requestCount}`,
      );
    }
    const directory = this.trainingCheckpointDirectory(body.path);
    return this.schedule(model, async () => {
      const backend = model.backend as LocalTrainerBackend;
      if (body.optimizer === false) {
        // Weights only: the fresh model has no optimizer state to keep or drop.
        const { tensors } = await readSafetensors(join(directory, 'model.safetensors'));
        for (const [name, value] of backend.parameters) {
          const loaded = tensors.get(name);
          if (loaded === undefined || loaded.data.length !== value.data.length)
            throw new Error(`${body.path}: parameter '${name}' is missing or has the wrong size`);
          (value.data as Float32Array).set(loaded.data as Float32Array);
        }
        (model.sampler as NativePolicy).setParameters(backend.parameters);
      } else {
        await backend.loadState(directory);
      }
      model.loadedSampler = undefined;
      return { type: 'load_weights' };
    });
  }

  private trainingRun(model: HostedModel): Json {
    return {
      training_run_id: model.id,
      base_model: model.baseModel,
      model_owner: 'default',
      is_lora: false,
      lora_rank: model.rank,
      corrupted: model.status === 'failed',
      last_request_time: model.lastRequestTime,
      last_checkpoint: null,
      last_sampler_checkpoint: null,
      user_metadata: null,
    };
  }

  trainingRuns(limit: number, offset: number): Json {
    const all = [...this.models.values()].filter((model) => model.status !== 'unloaded');
    return {
      training_runs: all.slice(offset, offset + limit).map((model) => this.trainingRun(model)),
      cursor: { offset, limit, total_count: all.length },
    };
  }

  trainingRunInfo(modelId: string): Json {
    return this.trainingRun(this.model(modelId));
  }

  checkpoints(modelId: string): Json {
    const model = this.models.get(modelId);
    if (model === undefined) throw notFound(`Model '${modelId}' not found`);
    const checkpoints: Json[] = [];
    for (const [name, entry] of model.trainingCheckpoints) {
      if (entry.state === 'done')
        checkpoints.push({
          checkpoint_id: name,
          checkpoint_type: 'training',
          time: entry.time,
          tinker_path: `tinker://${model.id}/weights/${name}`,
        });
    }
    for (const [name, entry] of model.samplerCheckpoints) {
      if (entry.state === 'done')
        checkpoints.push({
          checkpoint_id: name,
          checkpoint_type: 'sampler',
          time: entry.time,
          tinker_path: `tinker://${model.id}/sampler_weights/${name}`,
        });
    }
    return { checkpoints };
  }

  /** Unloads every model. */
  async close(): Promise<void> {
    for (const model of this.models.values()) {
      await model.queue;
      model.status = 'unloaded';
      await model.backend?.close();
      await model.sampler?.close();
    }
  }
}

/** A generation result on the wire; token-id stops (besides EOS, which the runtime handles) are cut here. */
function sampleResult(
  result: GenerationResult,
  stopIds: readonly number[],
  request: GenerationRequest,
): Json {
  const stops = new Set(stopIds);
  return {
    type: 'sample',
    sequences: result.sequences.map((sequence) => {
      let end = sequence.tokenIds.length;
      let reason =
        sequence.finishReason === 'length' || sequence.finishReason === 'abort' ? 'length' : 'stop';
      for (let index = 0; index < sequence.tokenIds.length; index++) {
        if (stops.has(sequence.tokenIds[index] as number)) {
          end = index + 1;
          reason = 'stop';
          break;
        }
      }
      const out: Json = {
        tokens: Array.from(sequence.tokenIds.subarray(0, end)),
        logprobs: Array.from(sequence.logprobs.subarray(0, end)),
        stop_reason: reason,
        entropies: Array.from(sequence.entropies.subarray(0, end)),
      };
      if ((request.sampling.topLogprobs ?? 0) > 0 && sequence.topLogprobs !== undefined) {
        out.top_logprobs = sequence.topLogprobs
          .slice(0, end)
          .map((top) => Array.from(top.tokenIds, (id, index) => [id, top.logprobs[index] as number]));
      }
      return out;
    }),
    prompt_logprobs: null,
    topk_prompt_logprobs: null,
    usage: {
      prompt_tokens: result.usage.promptTokens,
      reused_prompt_tokens: result.usage.reusedPromptTokens,
      computed_prompt_tokens: result.usage.computedPromptTokens,
    },
  };
}
