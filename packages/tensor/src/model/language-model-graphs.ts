import { grad } from '../autodiff/grad.js';
import { Graph, SymbolicTensor } from '../graph/graph.js';
import * as ops from '../ops/index.js';
import { CompiledGraph, type CompileOptions } from '../runtime/compiled-graph.js';
import type { DecoderTransformer } from './decoder-transformer.js';

/** What a loss builder sees: the model's outputs on a [batch, seq] batch, in the graph being built. */
export interface LossContext {
  readonly graph: Graph;
  readonly model: DecoderTransformer;
  readonly parameters: ReadonlyMap<string, SymbolicTensor>;
  /** int32 [batch, seq] */
  readonly tokenIds: SymbolicTensor;
  /** int32 [batch, seq]: position i predicts targetIds[i]. */
  readonly targetIds: SymbolicTensor;
  /** [batch, seq, vocab] */
  readonly logits: SymbolicTensor;
  /** [batch, seq, vocab] */
  readonly logProbs: SymbolicTensor;
  /** log p(targetIds[i] | tokens <= i), [batch, seq]. */
  readonly targetLogProbs: SymbolicTensor;
  /** Declares an extra per-token input (float32 [batch, seq] unless told), e.g. advantages or old log-probs. */
  tokenInput(name: string, dtype?: 'float32' | 'float64' | 'int32' | 'bool'): SymbolicTensor;
}

/** A loss and, optionally, extra scalar or per-token metrics to return with it. */
export type LossBuilder = (
  context: LossContext,
) => SymbolicTensor | { loss: SymbolicTensor; metrics?: Record<string, SymbolicTensor> };

export interface TrainingGraph {
  readonly graph: Graph;
  readonly loss: SymbolicTensor;
  /** Gradient of the loss per parameter name. */
  readonly gradients: ReadonlyMap<string, SymbolicTensor>;
  /** `loss`, `grad.<parameter>` and any metrics, ready for `CompiledGraph.create`. */
  readonly outputs: Readonly<Record<string, SymbolicTensor>>;
}

/** Token-mean masked cross-entropy: -sum(mask · log p(target)) / max(sum(mask), 1). Feeds 'loss_mask'. */
export const maskedCrossEntropy: LossBuilder = (context) => {
  const mask = context.tokenInput('loss_mask');
  const total = ops.reduceSum(ops.mul(context.targetLogProbs, mask), { keepDims: false });
  const count = ops.max(ops.reduceSum(mask, { keepDims: false }), 1);
  return { loss: ops.neg(ops.div(total, count)), metrics: { tokens: count } };
};

function lossContext(model: DecoderTransformer, name: string): LossContext {
  const graph = new Graph({ name });
  const parameters = model.declareParameters(graph);
  const tokenIds = graph.input('input_ids', 'int32', ['batch', 'seq']);
  const targetIds = graph.input('target_ids', 'int32', ['batch', 'seq']);
  const { logits } = model.forward(parameters, { tokenIds });
  const logProbs = ops.logSoftmax(logits, -1);
  const targetLogProbs = ops.squeeze(ops.gatherElements(logProbs, ops.unsqueeze(targetIds, [2]), 2), [2]);
  const floatType = model.config.dtype;
  return {
    graph,
    model,
    parameters,
    tokenIds,
    targetIds,
    logits,
    logProbs,
    targetLogProbs,
    tokenInput: (inputName, dtype) =>
      graph.input(inputName, dtype === undefined || dtype === 'float32' ? floatType : dtype, [
        'batch',
        'seq',
      ]),
  };
}

/**
 * The training graph: forward pass, the loss `buildLoss` makes of the model's log-probs (masked
 * cross-entropy by default), and the gradient of every parameter. Inputs: the parameters by name,
 * `input_ids`, `target_ids` and whatever the loss declares.
 */
export function buildTrainingGraph(
  model: DecoderTransformer,
  options: { loss?: LossBuilder; name?: string } = {},
): TrainingGraph {
  const context = lossContext(model, options.name ?? 'train');
  const built = (options.loss ?? maskedCrossEntropy)(context);
  const { loss, metrics } = built instanceof SymbolicTensor ? { loss: built, metrics: undefined } : built;
  const names = [...context.parameters.keys()];
  const gradientList = grad(loss, [...context.parameters.values()]);
  const gradients = new Map(names.map((name, index) => [name, gradientList[index]!]));
  const outputs: Record<string, SymbolicTensor> = { loss };
  for (const [name, gradient] of gradients) outputs[`grad.${name}`] = gradient;
  for (const [name, metric] of Object.entries(metrics ?? {})) outputs[name] = metric;
  return { graph: context.graph, loss, gradients, outputs };
}

/** Inputs `input_ids` (+ parameters); outputs `logits` [batch, seq, vocab] and `target_logprobs` when asked. */
export function buildLogitsGraph(
  model: DecoderTransformer,
  options: { withTargetLogProbs?: boolean; name?: string } = {},
): { graph: Graph; outputs: Record<string, SymbolicTensor> } {
  if (options.withTargetLogProbs) {
    const context = lossContext(model, options.name ?? 'logprobs');
    return {
      graph: context.graph,
      outputs: { logits: context.logits, target_logprobs: context.targetLogProbs },
    };
  }
  const graph = new Graph({ name: options.name ?? 'logits' });
  const parameters = model.declareParameters(graph);
  const tokenIds = graph.input('input_ids', 'int32', ['batch', 'seq']);
  return { graph, outputs: { logits: model.forward(parameters, { tokenIds }).logits } };
}

/**
 * The KV-cache decoder graph (one graph serves prefill with an empty cache and every decode step).
 * Inputs: parameters, `input_ids` [batch, seq], `position_ids` [batch, seq] (int32), `attention_mask`
 * [batch, past + seq] (int32, 1 = attend) and `past_key_values.{i}.key|value` [batch, heads, past, headDim].
 * Outputs: `logits` [batch, seq, vocab] and `present.{i}.key|value` [batch, heads, past + seq, headDim], or with
 * `cacheOutputs: 'added'` only this call's keys/values as `added.{i}.key|value` [batch, heads, seq, headDim] (for
 * runtimes that keep the cache in place: copying all of `present` out of every decode step is what dominates
 * small models).
 */
export function buildDecoderGraph(
  model: DecoderTransformer,
  options: { name?: string; cacheOutputs?: 'present' | 'added' } = {},
): { graph: Graph; outputs: Record<string, SymbolicTensor> } {
  const { heads, layers, dtype } = model.config;
  const graph = new Graph({ name: options.name ?? 'decoder' });
  const parameters = model.declareParameters(graph);
  const tokenIds = graph.input('input_ids', 'int32', ['batch', 'seq']);
  const positionIds = graph.input('position_ids', 'int32', ['batch', 'seq']);
  const attentionMask = graph.input('attention_mask', 'int32', ['batch', 'past+seq']);
  const past = Array.from({ length: layers }, (_, layer) => ({
    key: graph.input(`past_key_values.${layer}.key`, dtype, ['batch', heads, 'past', model.headDim]),
    value: graph.input(`past_key_values.${layer}.value`, dtype, ['batch', heads, 'past', model.headDim]),
  }));
  const forward = model.forward(parameters, { tokenIds, positionIds, past, attentionMask });
  const outputs: Record<string, SymbolicTensor> = { logits: forward.logits };
  const kind = options.cacheOutputs ?? 'present';
  forward[kind].forEach((cache, layer) => {
    outputs[`${kind}.${layer}.key`] = cache.key;
    outputs[`${kind}.${layer}.value`] = cache.value;
  });
  return { graph, outputs };
}

/** Compiles a built graph (training, logits or decoder) with its outputs. */
export function compileGraph(
  built: { graph: Graph; outputs: Readonly<Record<string, SymbolicTensor>> },
  options: Omit<CompileOptions, 'outputs'> = {},
): Promise<CompiledGraph> {
  return CompiledGraph.create(built.graph, { ...options, outputs: built.outputs });
}
