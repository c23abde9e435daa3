import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ForwardResult,
  type GenerationRequest,
  type GenerationResult,
  InvalidArgumentError,
  type LossConfig,
  lossConfigSchema,
  type OptimizerConfig,
  type OptimStepResult,
  optimizerConfigSchema,
  parse,
  type TrainerBackend,
  type TrainingDatum,
} from '@arpo/core';
import type { NativePolicy } from '@arpo/policy';
import {
  AdamW,
  buildLogitsGraph,
  buildTrainingGraph,
  type CompiledGraph,
  compileGraph,
  type DecoderTransformer,
  globalNorm,
  readSafetensors,
  type TensorValue,
  writeSafetensors,
} from '@arpo/tensor';
import { type PackedBatch, packBatch, packedFeeds, unpackRow, weightRows } from '../data/pack-batch.js';
import {
  aggregationNormalizer,
  objectiveInputs,
  objectiveLossBuilder,
} from '../objective/training-objective.js';
import { FrozenReference, referenceFormat } from '../reference/frozen-reference.js';
import type { ReferenceSource } from '../reference/reference-model.js';
import type { GradientControl } from './gradient-control.js';

export interface LocalTrainerBackendOptions {
  model: DecoderTransformer;
  /** The weights, updated in place by `optimStep` (the sampling policy shares them). */
  parameters: Map<string, TensorValue>;
  /** The policy `sample` uses; it must share `parameters`. */
  policy: NativePolicy;
  /** Where `saveState` writes. */
  directory: string;
  /** onnxruntime intra-op threads. Default 2. */
  threads?: number;
}

const stateFormat = 'arpo-local-trainer-state';

/**
 * The in-process training engine: the model and its objective as ONNX graphs of @arpo/tensor, gradients by
 * reverse-mode autodiff, AdamW in TypeScript. Implements the remote-training primitives of `TrainerBackend`, so
 * training loops run unchanged against it or against a remote engine. Gradients of successive
 * `forwardBackward` calls accumulate until `optimStep`.
 */
export class LocalTrainerBackend implements TrainerBackend, ReferenceSource, GradientControl {
  readonly id = 'local';
  readonly model: DecoderTransformer;
  readonly parameters: Map<string, TensorValue>;
  readonly policy: NativePolicy;
  private readonly directory: string;
  private readonly threads: number;
  private readonly objectiveGraphs = new Map<string, Promise<CompiledGraph>>();
  private scoringGraph: Promise<CompiledGraph> | undefined;
  private readonly gradients = new Map<string, Float32Array>();
  private accumulated = 0;
  private optimizer: AdamW | undefined;
  /** The optimizer settings `optimizer` was built with (learning rate excluded: it is per call). */
  private optimizerSettings = '';
  private readonly decays: Map<string, boolean>;

  constructor(options: LocalTrainerBackendOptions) {
    this.model = options.model;
    this.parameters = options.parameters;
    this.policy = options.policy;
    this.directory = options.directory;
    this.threads = options.threads ?? 2;
    this.decays = new Map(options.model.parameterSpecs().map((spec) => [spec.name, spec.decay]));
  }

  private objectiveGraph(loss: LossConfig): Promise<CompiledGraph> {
    // Everything but the normaliser is baked into the graph: one compiled graph per distinct objective.
    const { normalizer: _normalizer, ...structure } = loss;
    const key = JSON.stringify(structure, Object.keys(structure).sort());
    let graph = this.objectiveGraphs.get(key);
    if (graph === undefined) {
      const builder = objectiveLossBuilder(loss);
      const training = buildTrainingGraph(this.model, {
        name: `objective-${loss.lossFunction}`,
        loss: (context) => {
          const built = builder(context);
          const result = 'loss' in built ? built : { loss: built, metrics: {} };
          return {
            loss: result.loss,
            metrics: { ...result.metrics, target_logprobs: context.targetLogProbs },
          };
        },
      });
      graph = compileGraph(training, { threads: this.threads });
      graph.catch(() => this.objectiveGraphs.delete(key));
      this.objectiveGraphs.set(key, graph);
    }
    return graph;
  }

  private feeds(packed: PackedBatch, graph: CompiledGraph, normalizer?: number): Record<string, TensorValue> {
    const shape = [packed.batch, packed.length];
    const feeds: Record<string, TensorValue> = { ...packedFeeds(packed) };
    for (const [name, value] of this.parameters) feeds[name] = value;
    const optional: Record<string, Float32Array> = {
      [objectiveInputs.weights]: packed.weights,
      [objectiveInputs.oldLogprobs]: packed.oldLogprobs,
      [objectiveInputs.advantages]: packed.advantages,
      [objectiveInputs.referenceLogprobs]: packed.referenceLogprobs,
    };
    const declared = new Set(graph.inputs.map((input) => input.name));
    for (const [name, data] of Object.entries(optional))
      if (declared.has(name)) feeds[name] = { data, shape };
    if (declared.has(objectiveInputs.normalizer)) {
      feeds[objectiveInputs.normalizer] = {
        data: Float32Array.of(Math.max(normalizer ?? 1, 1e-12)),
        shape: [1],
      };
    }
    return feeds;
  }

  async forwardBackward(batch: readonly TrainingDatum[], lossConfig: LossConfig): Promise<ForwardResult> {
    const loss = parse(lossConfigSchema, lossConfig);
    const packed = packBatch(batch, { contextLength: this.model.config.contextLength });
    const graph = await this.objectiveGraph(loss);
    const normalizer = loss.normalizer ?? aggregationNormalizer(loss, weightRows(packed));
    const outputs = await graph.run(this.feeds(packed, graph, normalizer));
    for (const [name, value] of Object.entries(outputs)) {
      if (!name.startsWith('grad.')) continue;
      const parameter = name.slice('grad.'.length);
      const gradient = value.data as Float32Array;
      const sum = this.gradients.get(parameter);
      if (sum === undefined) this.gradients.set(parameter, Float32Array.from(gradient));
      else
        for (let index = 0; index < sum.length; index++)
          sum[index] = (sum[index] as number) + (gradient[index] as number);
    }
    this.accumulated += 1;
    const metrics: Record<string, number> = {};
    for (const [name, value] of Object.entries(outputs)) {
      if (name.startsWith('grad.') || name === 'target_logprobs') continue;
      if (value.data.length === 1) metrics[name] = Number(value.data[0]);
    }
    const logprobs = outputs.target_logprobs?.data as Float32Array;
    return { logprobs: batch.map((_, row) => unpackRow(logprobs, packed, row)), metrics };
  }

  /**
   * Target logprobs without gradients, with the current weights or (`options.parameters`) other weights of the
   * same model, such as a frozen reference.
   */
  async forward(
    batch: readonly TrainingDatum[],
    options: { parameters?: ReadonlyMap<string, TensorValue> } = {},
  ): Promise<ForwardResult> {
    const packed = packBatch(batch, { contextLength: this.model.config.contextLength });
    this.scoringGraph ??= compileGraph(
      buildLogitsGraph(this.model, { withTargetLogProbs: true, name: 'score' }),
      {
        threads: this.threads,
      },
    );
    const graph = await this.scoringGraph;
    const feeds: Record<string, TensorValue> = { ...packedFeeds(packed) };
    for (const [name, value] of options.parameters ?? this.parameters) feeds[name] = value;
    const outputs = await graph.run(feeds);
    const logprobs = outputs.target_logprobs?.data as Float32Array;
    return { logprobs: batch.map((_, row) => unpackRow(logprobs, packed, row)), metrics: {} };
  }

  /** A copy of the current weights as the frozen reference of a KL term (scored by the same graph as `forward`). */
  freezeReference(): FrozenReference {
    const parameters = new Map<string, TensorValue>();
    for (const [name, value] of this.parameters) {
      parameters.set(name, { data: Float32Array.from(value.data as Float32Array), shape: [...value.shape] });
    }
    return new FrozenReference({
      parameters,
      score: (batch, weights) => this.forward(batch, { parameters: weights }),
    });
  }

  /** A reference written by `FrozenReference.save`; every parameter of the model must be there with its size. */
  async loadReference(path: string): Promise<FrozenReference> {
    let content: Awaited<ReturnType<typeof readSafetensors>>;
    try {
      content = await readSafetensors(path);
    } catch (error) {
      throw new InvalidArgumentError({
        argument: 'path',
        message: `${path} is not a readable reference`,
        cause: error,
      });
    }
    if (content.metadata.format !== referenceFormat) {
      throw new InvalidArgumentError({
        argument: 'path',
        message: `${path} is not a frozen reference (format '${content.metadata.format}', expected '${referenceFormat}')`,
      });
    }
    const parameters = new Map<string, TensorValue>();
    for (const [name, value] of this.parameters) {
      const loaded = content.tensors.get(name);
      if (loaded === undefined || loaded.data.length !== value.data.length) {
        throw new InvalidArgumentError({
          argument: 'path',
          message: `${path}: parameter '${name}' is missing or has the wrong size`,
        });
      }
      parameters.set(name, { data: Float32Array.from(loaded.data as Float32Array), shape: [...value.shape] });
    }
    return new FrozenReference({
      parameters,
      score: (batch, weights) => this.forward(batch, { parameters: weights }),
    });
  }

  /** Copies of the gradients accumulated since the last `optimStep`, by parameter name. */
  accumulatedGradients(): Map<string, Float32Array> {
    return new Map([...this.gradients].map(([name, data]) => [name, Float32Array.from(data)]));
  }

  accumulatedGradientNorm(): number {
    return globalNorm([...this.gradients.values()].map((data) => ({ data, shape: [data.length] })));
  }

  discardGradients(): void {
    this.gradients.clear();
    this.accumulated = 0;
  }

  async optimStep(config: OptimizerConfig): Promise<OptimStepResult> {
    const optimizer = parse(optimizerConfigSchema, config);
    const settings = {
      beta1: optimizer.beta1 ?? 0.9,
      beta2: optimizer.beta2 ?? 0.999,
      epsilon: optimizer.epsilon ?? 1e-8,
      weightDecay: optimizer.weightDecay ?? 0,
      ...(optimizer.maxGradientNorm === undefined ? {} : { maxGradientNorm: optimizer.maxGradientNorm }),
    };
    const key = JSON.stringify(settings);
    if (this.optimizer === undefined || key !== this.optimizerSettings) {
      // New settings keep the moments and the step count.
      const previous = this.optimizer?.state();
      this.optimizer = new AdamW({
        learningRate: optimizer.learningRate,
        ...settings,
        decay: (name) => this.decays.get(name) !== false,
      });
      if (previous !== undefined) this.optimizer.loadState(previous);
      this.optimizerSettings = key;
    }
    const gradients = new Map<string, TensorValue>();
    for (const [name, data] of this.gradients) gradients.set(name, { data, shape: [data.length] });
    const norm = globalNorm(gradients.values());
    if (!Number.isFinite(norm)) {
      // A NaN or infinite loss poisons the gradients: drop them, keep the weights, report it.
      this.gradients.clear();
      const accumulated = this.accumulated;
      this.accumulated = 0;
      return {
        metrics: {
          skipped: 1,
          gradient_norm: norm,
          accumulated_batches: accumulated,
          optimizer_steps: this.step,
        },
      };
    }
    const result = this.optimizer.apply(this.parameters, gradients, { learningRate: optimizer.learningRate });
    this.gradients.clear();
    const accumulated = this.accumulated;
    this.accumulated = 0;
    // The sampler shares the weights; its cached prefixes were computed with the old ones.
    this.policy.setParameters(this.parameters);
    return {
      metrics: {
        gradient_norm: result.gradientNorm,
        learning_rate: result.learningRate,
        clip_scale: result.clipScale,
        accumulated_batches: accumulated,
        optimizer_steps: result.step,
        skipped: 0,
      },
    };
  }

  sample(
    requests: readonly GenerationRequest[],
    options?: { signal?: AbortSignal },
  ): Promise<GenerationResult[]> {
    return this.policy.generate(requests, options);
  }

  /** Number of optimizer steps taken. */
  get step(): number {
    return this.optimizer?.step ?? 0;
  }

  async saveState(name: string): Promise<{ path: string }> {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new InvalidArgumentError({
        argument: 'name',
        message: `'${name}' must be letters, digits, '_', '.', '-'`,
      });
    }
    const path = join(this.directory, name);
    await mkdir(path, { recursive: true });
    await writeSafetensors(join(path, 'model.safetensors'), this.parameters, { format: stateFormat });
    if (this.optimizer !== undefined) await this.optimizer.save(join(path, 'optimizer.safetensors'));
    const manifest = { format: stateFormat, step: this.step, hasOptimizer: this.optimizer !== undefined };
    const temporary = join(path, `.state.json.${process.pid}.tmp`);
    await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(temporary, join(path, 'state.json'));
    return { path };
  }

  async loadState(path: string): Promise<void> {
    let manifest: { format?: string; hasOptimizer?: boolean };
    try {
      manifest = JSON.parse(await readFile(join(path, 'state.json'), 'utf8'));
    } catch (error) {
      throw new InvalidArgumentError({
        argument: 'path',
        message: `${path} holds no readable state.json`,
        cause: error,
      });
    }
    if (manifest.format !== stateFormat) {
      throw new InvalidArgumentError({
        argument: 'path',
        message: `${path}/state.json is not a local trainer state`,
      });
    }
    const { tensors } = await readSafetensors(join(path, 'model.safetensors'));
    for (const [name, value] of this.parameters) {
      const loaded = tensors.get(name);
      if (loaded === undefined || loaded.data.length !== value.data.length) {
        throw new InvalidArgumentError({
          argument: 'path',
          message: `${path}: parameter '${name}' is missing or has the wrong size`,
        });
      }
      (value.data as Float32Array).set(loaded.data as Float32Array);
    }
    this.gradients.clear();
    this.accumulated = 0;
    if (manifest.hasOptimizer) {
      // Settings come with the next optimStep (they are part of each call); the moments and step are restored.
      this.optimizer = new AdamW({ learningRate: 1e-3, decay: (name) => this.decays.get(name) !== false });
      this.optimizerSettings = '';
      await this.optimizer.load(join(path, 'optimizer.safetensors'));
    } else {
      this.optimizer = undefined;
    }
    this.policy.setParameters(this.parameters);
  }

  async close(): Promise<void> {
    for (const graph of this.objectiveGraphs.values()) await (await graph).dispose();
    if (this.scoringGraph !== undefined) await (await this.scoringGraph).dispose();
    this.objectiveGraphs.clear();
  }
}
