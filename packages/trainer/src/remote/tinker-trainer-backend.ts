import {
  type ForwardResult,
  type GenerationRequest,
  type GenerationResult,
  InvalidArgumentError,
  type LazySchema,
  type LossConfig,
  lossConfigSchema,
  type OptimizerConfig,
  type OptimStepResult,
  optimizerConfigSchema,
  parse,
  type Tokenizer,
  type TrainerBackend,
  type TrainingDatum,
} from '@arpo/core';
import {
  callNormalizer,
  checkRemoteLoss,
  clientObjective,
  datumWeights,
  nativeLossInput,
  nativeLossObstacle,
  tinkerDatum,
} from './remote-objective.js';
import { RemoteTrainingError } from './remote-training-error.js';
import { TinkerHttpClient, type TinkerHttpClientOptions } from './tinker-http-client.js';
import { type TinkerSamplerTarget, TinkerSamplingPolicy } from './tinker-sampling-policy.js';
import {
  checkpointNamePattern,
  type TinkerAdamParams,
  type TinkerForwardBackwardInput,
  tinkerAnyResultSchema,
  tinkerCapabilitiesResponseSchema,
  tinkerCheckpointsResponseSchema,
  tinkerCreateModelResponseSchema,
  tinkerCreateSessionResponseSchema,
  tinkerForwardResultSchema,
  tinkerOptimStepResultSchema,
  tinkerSaveWeightsForSamplerResultSchema,
  tinkerSaveWeightsResultSchema,
  tinkerWeightsInfoResponseSchema,
} from './tinker-wire.js';
import { UnsupportedRemoteFeatureError } from './unsupported-remote-feature-error.js';

/**
 * What a server does with losses and optimizer settings (spec §8): `tinker` (hosted) and `arpo` (the ARPO.ts
 * training API server) sum token losses and honour all Adam settings and `grad_clip_norm`; SkyRL's JAX backend
 * averages per sequence and then over sequences, and drops `grad_clip_norm`; SkyRL-Train (fsdp/megatron) sums
 * but takes only the learning rate from the request.
 */
export type TinkerServerProfile = 'tinker' | 'arpo' | 'skyrl-jax' | 'skyrl-train';

interface ProfileTraits {
  reduction: 'sum' | 'sequence_mean';
  gradientClipping: boolean;
  adamFromRequest: boolean;
}

const profileTraits: Record<TinkerServerProfile, ProfileTraits> = {
  tinker: { reduction: 'sum', gradientClipping: true, adamFromRequest: true },
  arpo: { reduction: 'sum', gradientClipping: true, adamFromRequest: true },
  'skyrl-jax': { reduction: 'sequence_mean', gradientClipping: false, adamFromRequest: true },
  'skyrl-train': { reduction: 'sum', gradientClipping: false, adamFromRequest: false },
};

export interface TinkerTrainerBackendOptions extends TinkerHttpClientOptions {
  /** The server's base model name (`create_model.base_model`). */
  baseModel: string;
  /** The base model's tokenizer (prompts travel as token ids; stop strings are matched on this side). */
  tokenizer: Tokenizer;
  /** The base model's context length (for the sampling policy). */
  contextLength: number;
  /** Default `tokenizer.vocabularySize`. */
  vocabularySize?: number;
  /** Default `tinker`. */
  profile?: TinkerServerProfile;
  /**
   * How losses reach the server. `native`: as the API's built-in loss (cross_entropy, importance_sampling,
   * ppo) with the aggregation folded into weights/advantages: one request, no extra forward, fails for dual
   * clip and KL. `client`: the objective and ∂L/∂logprob are computed here from a forward pass and sent as a
   * linear loss (any LossConfig except an entropy bonus; one extra forward). `auto` (default): native when
   * possible (and the server sums), client otherwise.
   */
  lossMode?: 'auto' | 'native' | 'client';
  /** LoRA rank asked for (servers without LoRA ignore it). Default 32. */
  loraRank?: number;
  /** LoRA initialisation seed. */
  seed?: number;
  /**
   * `eager` (default): after every optimizer step, save weights for the sampler and point sampling at them.
   * `lazy`: only before the next sample (saves one checkpoint per step when a step has several mini-batches).
   */
  weightSync?: 'eager' | 'lazy';
  /** Session heartbeat period; 0 turns it off. Default 10 000 (the SDK's). */
  heartbeatIntervalMs?: number;
  /** `create_session.tags`. */
  tags?: string[];
  /** Concurrent sample requests of the sampling policy. Default 16. */
  samplingConcurrency?: number;
}

interface DeferredGradient {
  batch: readonly TrainingDatum[];
  gradients: Float64Array[];
  logprobs: Float32Array[];
}

function checkBatch(batch: readonly TrainingDatum[]): void {
  if (batch.length === 0) throw new InvalidArgumentError({ argument: 'batch', message: 'is empty' });
  batch.forEach((datum, row) => {
    const own = datum.inputTokenIds.length;
    if (own === 0)
      throw new InvalidArgumentError({ argument: `batch[${row}].inputTokenIds`, message: 'is empty' });
    for (const name of [
      'targetTokenIds',
      'weights',
      'logprobs',
      'advantages',
      'referenceLogprobs',
    ] as const) {
      const values = datum[name];
      if (values !== undefined && values.length !== own) {
        throw new InvalidArgumentError({
          argument: `batch[${row}].${name}`,
          message: `has ${values.length} entries; inputTokenIds has ${own}`,
        });
      }
    }
  });
}

/**
 * A TrainerBackend on a Tinker-style training server over HTTP + JSON (SkyRL's open-source server, the hosted
 * service, or `arpo serve --trainer`): one session and one model; forward_backward / forward / optim_step /
 * save_weights / load_weights as futures polled through `retrieve_future`, submitted in order with one `seq_id`
 * counter (server-side dedup makes retries safe). `policy` samples from the remote weights; after each optimizer
 * step the weights are saved for the sampler and sampling is pointed at them (weight sync).
 */
export class TinkerTrainerBackend implements TrainerBackend {
  readonly id: string;
  /** Samples from the latest synced weights: hand it to rollouts as the environment's policy. */
  readonly policy: TinkerSamplingPolicy;
  readonly client: TinkerHttpClient;
  private readonly options: TinkerTrainerBackendOptions;
  private readonly traits: ProfileTraits;
  private readonly sessionId: string;
  private currentModelId: string;
  private sequenceId = 1;
  private samplingSessionSequence = 0;
  private submitChain: Promise<unknown> = Promise.resolve();
  private samplerTarget: TinkerSamplerTarget | undefined;
  private syncing: Promise<TinkerSamplerTarget> | undefined;
  private samplerStale = true;
  private deferred: DeferredGradient[] = [];
  private accumulatedBatches = 0;
  private optimizerSteps = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private readonly lifetime = new AbortController();
  private closed = false;

  private constructor(
    options: TinkerTrainerBackendOptions,
    client: TinkerHttpClient,
    session: { sessionId: string; modelId: string; extensions: readonly string[] },
  ) {
    this.options = options;
    this.client = client;
    this.traits = profileTraits[options.profile ?? 'tinker'];
    this.sessionId = session.sessionId;
    this.currentModelId = session.modelId;
    this.id = `tinker:${client.baseUrl}`;
    this.policy = new TinkerSamplingPolicy({
      client,
      tokenizer: options.tokenizer,
      contextLength: options.contextLength,
      ...(options.vocabularySize === undefined ? {} : { vocabularySize: options.vocabularySize }),
      target: () => this.samplingTarget(),
      extensions: session.extensions,
      ...(options.samplingConcurrency === undefined ? {} : { maxConcurrency: options.samplingConcurrency }),
    });
  }

  /** Opens a session, creates the model and (with eager weight sync) its first sampler checkpoint. */
  static async connect(options: TinkerTrainerBackendOptions): Promise<TinkerTrainerBackend> {
    const client = new TinkerHttpClient(options);
    await client.call('GET', 'healthz');
    let extensions: readonly string[] = [];
    try {
      const capabilities = await client.callParsed(
        tinkerCapabilitiesResponseSchema,
        'GET',
        'get_server_capabilities',
      );
      extensions = capabilities.arpo_extensions ?? [];
    } catch (error) {
      // Optional endpoint: older servers answer 404.
      if (!(RemoteTrainingError.isInstance(error) && error.status === 404)) throw error;
    }
    const session = await client.callParsed(tinkerCreateSessionResponseSchema, 'POST', 'create_session', {
      tags: options.tags ?? ['arpo-ts'],
      sdk_version: 'arpo-ts',
    });
    const modelId = await TinkerTrainerBackend.createModel(
      client,
      options,
      session.session_id,
      options.loraRank ?? 32,
    );
    const backend = new TinkerTrainerBackend(options, client, {
      sessionId: session.session_id,
      modelId,
      extensions,
    });
    backend.startHeartbeat();
    if ((options.weightSync ?? 'eager') === 'eager') await backend.samplingTarget();
    return backend;
  }

  private static async createModel(
    client: TinkerHttpClient,
    options: TinkerTrainerBackendOptions,
    sessionId: string,
    rank: number,
  ): Promise<string> {
    const created = await client.callParsed(tinkerCreateModelResponseSchema, 'POST', 'create_model', {
      session_id: sessionId,
      base_model: options.baseModel,
      lora_config: { rank, ...(options.seed === undefined ? {} : { seed: options.seed }) },
    });
    // The model exists once its future resolves (the server may still be loading weights).
    await client.retrieve(tinkerAnyResultSchema, created.request_id);
    return created.model_id;
  }

  /** The server's id of the trained model (changes when `loadState` resumes into a fresh model). */
  get modelId(): string {
    return this.currentModelId;
  }

  private startHeartbeat(): void {
    const period = this.options.heartbeatIntervalMs ?? 10_000;
    if (period <= 0) return;
    this.heartbeat = setInterval(() => {
      this.client
        .call('POST', 'session_heartbeat', { session_id: this.sessionId }, { signal: this.lifetime.signal })
        .catch(() => undefined);
    }, period);
    this.heartbeat.unref?.();
  }

  private checkOpen(): void {
    if (this.closed) throw new InvalidArgumentError({ argument: 'backend', message: 'is closed' });
  }

  private nextSequenceId(): number {
    return this.sequenceId++;
  }

  /** Submits in call order (the server executes in arrival order), without waiting for earlier results. */
  private submitInOrder(
    path: string,
    body: (modelId: string) => Record<string, unknown>,
    options: { acceptConflict?: (attempt: number) => boolean } = {},
  ): Promise<string | undefined> {
    const run = this.submitChain.then(() =>
      this.client.submit(path, body(this.currentModelId), {
        signal: this.lifetime.signal,
        acceptConflict: options.acceptConflict ?? (() => false),
      }),
    );
    this.submitChain = run.catch(() => undefined);
    return run;
  }

  private async runInOrder<T>(
    schema: LazySchema<T>,
    path: string,
    body: (modelId: string) => Record<string, unknown>,
  ): Promise<T> {
    const requestId = await this.submitInOrder(path, body);
    return this.client.retrieve(schema, requestId as string, { signal: this.lifetime.signal });
  }

  private async forwardBackwardRequest(input: TinkerForwardBackwardInput): Promise<Float32Array[]> {
    const seq = this.nextSequenceId();
    const requestId = await this.submitInOrder('forward_backward', (modelId) => ({
      model_id: modelId,
      seq_id: seq,
      forward_backward_input: input,
    }));
    const result = await this.client.retrieve(tinkerForwardResultSchema, requestId as string, {
      signal: this.lifetime.signal,
    });
    return this.logprobsOf(
      result.loss_fn_outputs,
      input.data.map((datum) => datum.model_input.chunks[0]?.tokens.length ?? 0),
    );
  }

  private logprobsOf(
    outputs: readonly { logprobs: { data: number[] } }[],
    lengths: readonly number[],
  ): Float32Array[] {
    if (outputs.length !== lengths.length) {
      throw new RemoteTrainingError({
        endpoint: this.client.baseUrl,
        message: `the server returned ${outputs.length} loss outputs for ${lengths.length} datums`,
        isRetryable: false,
      });
    }
    return outputs.map((output, row) => {
      const length = lengths[row] as number;
      if (output.logprobs.data.length < length) {
        throw new RemoteTrainingError({
          endpoint: this.client.baseUrl,
          message: `datum ${row}: ${output.logprobs.data.length} logprobs for ${length} tokens`,
          isRetryable: false,
        });
      }
      return Float32Array.from(output.logprobs.data.slice(0, length));
    });
  }

  async forward(batch: readonly TrainingDatum[]): Promise<ForwardResult> {
    this.checkOpen();
    checkBatch(batch);
    const seq = this.nextSequenceId();
    const requestId = await this.submitInOrder('forward', (modelId) => ({
      model_id: modelId,
      seq_id: seq,
      forward_input: { loss_fn: 'cross_entropy', data: batch.map((datum) => tinkerDatum(datum, {})) },
    }));
    const result = await this.client.retrieve(tinkerForwardResultSchema, requestId as string, {
      signal: this.lifetime.signal,
    });
    return {
      logprobs: this.logprobsOf(
        result.loss_fn_outputs,
        batch.map((datum) => datum.inputTokenIds.length),
      ),
      metrics: {},
    };
  }

  async forwardBackward(batch: readonly TrainingDatum[], lossConfig: LossConfig): Promise<ForwardResult> {
    this.checkOpen();
    const loss = parse(lossConfigSchema, lossConfig);
    checkRemoteLoss(loss);
    checkBatch(batch);
    const normalizer = callNormalizer(batch, loss);
    const mode = this.options.lossMode ?? 'auto';
    const obstacle =
      this.traits.reduction === 'sequence_mean'
        ? 'the server averages token losses per sequence, so losses are sent in client mode'
        : nativeLossObstacle(loss, batch);
    if (mode === 'native' && obstacle !== undefined) {
      throw new UnsupportedRemoteFeatureError({
        feature: 'loss',
        message: `cannot be sent natively: ${obstacle}`,
      });
    }
    let logprobs: Float32Array[];
    let metrics: Record<string, number>;
    if (mode !== 'client' && obstacle === undefined) {
      logprobs = await this.forwardBackwardRequest(nativeLossInput(batch, loss, normalizer));
      metrics = clientObjective(batch, loss, logprobs, normalizer).metrics;
    } else {
      logprobs = (await this.forward(batch)).logprobs;
      const objective = clientObjective(batch, loss, logprobs, normalizer);
      metrics = objective.metrics;
      if (this.traits.reduction === 'sum') {
        // Σ −lp·w with w = −∂L/∂lp has exactly the gradient of L.
        await this.forwardBackwardRequest({
          loss_fn: 'cross_entropy',
          data: batch.map((datum, row) =>
            tinkerDatum(datum, {
              weights: (objective.gradients[row] as Float64Array).map((value) => -value),
            }),
          ),
        });
      } else {
        // Per-sequence-mean servers divide by the datum count of the whole step: known at optim_step.
        this.deferred.push({ batch, gradients: objective.gradients, logprobs });
      }
    }
    this.accumulatedBatches += 1;
    return { logprobs, metrics };
  }

  /**
   * SkyRL JAX: L_d = Σ_t m·ℓ / Σ_t m, gradients averaged over the D datums of the step. Importance sampling at
   * ratio 1 (old logprobs = current) with advantages −∂L/∂lp · Σm_d · D and m the 0/1 mask gives Σ g·∇lp.
   */
  private async flushDeferred(): Promise<void> {
    const deferred = this.deferred;
    this.deferred = [];
    const datums = deferred.reduce((sum, entry) => sum + entry.batch.length, 0);
    const futures = deferred.map((entry) =>
      this.forwardBackwardRequest({
        loss_fn: 'importance_sampling',
        data: entry.batch.map((datum, row) => {
          const weights = datumWeights(datum);
          const mask = Float64Array.from({ length: weights.length }, (_, index) =>
            (weights[index] as number) !== 0 ? 1 : 0,
          );
          const maskSum = mask.reduce((sum, value) => sum + value, 0);
          const gradient = entry.gradients[row] as Float64Array;
          return tinkerDatum(datum, {
            weights: mask,
            logprobs: entry.logprobs[row] as Float32Array,
            advantages: gradient.map((value) => -value * maskSum * datums),
          });
        }),
      }),
    );
    await Promise.all(futures);
  }

  private adamParams(optimizer: OptimizerConfig): TinkerAdamParams {
    if (optimizer.maxGradientNorm !== undefined && !this.traits.gradientClipping) {
      throw new UnsupportedRemoteFeatureError({
        feature: 'optimizer.maxGradientNorm',
        message: `the '${this.options.profile}' server does not clip gradients from the request (grad_clip_norm is dropped)`,
      });
    }
    if (!this.traits.adamFromRequest) {
      for (const name of ['beta1', 'beta2', 'epsilon', 'weightDecay', 'maxGradientNorm'] as const) {
        if (optimizer[name] !== undefined) {
          throw new UnsupportedRemoteFeatureError({
            feature: `optimizer.${name}`,
            message: `the '${this.options.profile}' server takes only the learning rate from the request; set it in the server's config`,
          });
        }
      }
      return { learning_rate: optimizer.learningRate };
    }
    // Always explicit, with the local engine's defaults (the API's defaults differ: β2 0.95, ε 1e-12).
    const adam: TinkerAdamParams = {
      learning_rate: optimizer.learningRate,
      beta1: optimizer.beta1 ?? 0.9,
      beta2: optimizer.beta2 ?? 0.999,
      eps: optimizer.epsilon ?? 1e-8,
      weight_decay: optimizer.weightDecay ?? 0,
    };
    if (optimizer.maxGradientNorm !== undefined) adam.grad_clip_norm = optimizer.maxGradientNorm;
    return adam;
  }

  async optimStep(config: OptimizerConfig): Promise<OptimStepResult> {
    this.checkOpen();
    const optimizer = parse(optimizerConfigSchema, config);
    const adam = this.adamParams(optimizer);
    if (this.deferred.length > 0) await this.flushDeferred();
    const seq = this.nextSequenceId();
    const result = await this.runInOrder(tinkerOptimStepResultSchema, 'optim_step', (modelId) => ({
      model_id: modelId,
      seq_id: seq,
      adam_params: adam,
    }));
    const metrics: Record<string, number> = { ...result.metrics };
    // Fill the local engine's metric names from SkyRL's, where the server did not send them itself.
    const norm = metrics.gradient_norm ?? metrics['skyrl.ai/grad_norm'];
    if (norm !== undefined) metrics.gradient_norm = norm;
    metrics.learning_rate ??= metrics['skyrl.ai/learning_rate'] ?? optimizer.learningRate;
    metrics.accumulated_batches ??= this.accumulatedBatches;
    this.optimizerSteps += 1;
    metrics.optimizer_steps ??= this.optimizerSteps;
    // A non-finite gradient norm means the server skipped (SkyRL-Train) or should have skipped the update.
    metrics.skipped ??= norm === undefined || Number.isFinite(norm) ? 0 : 1;
    this.accumulatedBatches = 0;
    this.samplerStale = true;
    if ((this.options.weightSync ?? 'eager') === 'eager') await this.samplingTarget();
    return { metrics };
  }

  /** Where sampling points now; saves weights for the sampler first when an optimizer step made them stale. */
  async samplingTarget(): Promise<TinkerSamplerTarget> {
    if (!this.samplerStale && this.samplerTarget !== undefined) return this.samplerTarget;
    this.syncing ??= this.syncSampler().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async syncSampler(): Promise<TinkerSamplerTarget> {
    this.samplerStale = false;
    for (let attempt = 0; ; attempt++) {
      const seq = this.nextSequenceId();
      const sessionSequence = this.samplingSessionSequence++;
      // A retried save whose first answer was lost hits the name check (409): save again under new ids.
      const requestId = await this.submitInOrder(
        'save_weights_for_sampler',
        (modelId) => ({ model_id: modelId, sampling_session_seq_id: sessionSequence, seq_id: seq }),
        { acceptConflict: (httpAttempt) => httpAttempt > 0 && attempt < 2 },
      );
      if (requestId === undefined) continue;
      const result = await this.client.retrieve(tinkerSaveWeightsForSamplerResultSchema, requestId, {
        signal: this.lifetime.signal,
      });
      let target: TinkerSamplerTarget;
      if (result.sampling_session_id != null) target = { samplingSessionId: result.sampling_session_id };
      else if (result.path != null) target = { modelPath: result.path };
      else {
        throw new RemoteTrainingError({
          endpoint: `${this.client.baseUrl}/api/v1/save_weights_for_sampler`,
          message: 'the result names neither a sampling session nor a path',
          isRetryable: false,
        });
      }
      this.samplerTarget = target;
      return target;
    }
  }

  sample(
    requests: readonly GenerationRequest[],
    options?: { signal?: AbortSignal },
  ): Promise<GenerationResult[]> {
    this.checkOpen();
    return this.policy.generate(requests, options);
  }

  /** Saves weights and optimizer state as the training checkpoint `name`; returns its `tinker://` path. */
  async saveState(name: string): Promise<{ path: string }> {
    this.checkOpen();
    if (!checkpointNamePattern.test(name)) {
      throw new InvalidArgumentError({
        argument: 'name',
        message: `'${name}' must be 1-255 letters, digits, '_' or '-' (the server's checkpoint-name rule)`,
      });
    }
    const seq = this.nextSequenceId();
    const requestId = await this.submitInOrder(
      'save_weights',
      (modelId) => ({ model_id: modelId, path: name, seq_id: seq }),
      { acceptConflict: (attempt) => attempt > 0 },
    );
    if (requestId === undefined) {
      // Our first attempt went through before its answer was lost: the checkpoint is listed.
      const listing = await this.client.callParsed(
        tinkerCheckpointsResponseSchema,
        'GET',
        `training_runs/${this.currentModelId}/checkpoints`,
      );
      const found = listing.checkpoints.find((checkpoint) => checkpoint.checkpoint_id === name);
      if (found !== undefined) return { path: found.tinker_path };
      throw new RemoteTrainingError({
        endpoint: `${this.client.baseUrl}/api/v1/save_weights`,
        status: 409,
        message: `checkpoint '${name}' conflicts but is not listed`,
        isRetryable: true,
      });
    }
    const result = await this.client.retrieve(tinkerSaveWeightsResultSchema, requestId, {
      signal: this.lifetime.signal,
    });
    return { path: result.path };
  }

  /**
   * Resumes from a training checkpoint (`tinker://<model>/weights/<name>`). The API allows `load_weights` only as
   * a model's first request, so this creates a fresh model with the checkpoint's rank, loads weights and
   * optimizer state into it, unloads the previous model and re-syncs the sampler (spec §3.6 and §7).
   */
  async loadState(path: string): Promise<void> {
    this.checkOpen();
    if (!path.startsWith('tinker://')) {
      throw new InvalidArgumentError({
        argument: 'path',
        message: `'${path}' is not a tinker:// checkpoint path`,
      });
    }
    const info = await this.client.callParsed(tinkerWeightsInfoResponseSchema, 'POST', 'weights_info', {
      tinker_path: path,
    });
    await this.submitChain;
    const previous = this.currentModelId;
    const modelId = await TinkerTrainerBackend.createModel(
      this.client,
      this.options,
      this.sessionId,
      info.lora_rank ?? this.options.loraRank ?? 32,
    );
    this.currentModelId = modelId;
    this.sequenceId = 1;
    const seq = this.nextSequenceId();
    await this.runInOrder(tinkerAnyResultSchema, 'load_weights', (id) => ({
      model_id: id,
      path,
      optimizer: true,
      seq_id: seq,
    }));
    this.deferred = [];
    this.accumulatedBatches = 0;
    await this.unload(previous);
    this.samplerStale = true;
    this.samplerTarget = undefined;
    if ((this.options.weightSync ?? 'eager') === 'eager') await this.samplingTarget();
  }

  private async unload(modelId: string): Promise<void> {
    try {
      const requestId = await this.client.submit('unload_model', { model_id: modelId });
      await this.client.retrieve(tinkerAnyResultSchema, requestId);
    } catch (error) {
      // Unloading frees server memory; a failure must not fail the training run.
      if (!RemoteTrainingError.isInstance(error)) throw error;
    }
  }

  /** Stops the heartbeat and unloads the model. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    await this.submitChain;
    await this.unload(this.currentModelId);
    this.lifetime.abort();
  }
}
