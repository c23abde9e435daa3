import { createRandom, InvalidArgumentError } from '@arpo/core';
import type { Graph, SymbolicTensor } from '../graph/graph.js';
import type { Dim } from '../graph/shape.js';
import * as ops from '../ops/index.js';
import type { TensorValue } from '../runtime/compiled-graph.js';
import {
  type ResolvedTransformerConfig,
  resolveTransformerConfig,
  type TransformerConfig,
} from './transformer-config.js';

export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Whether AdamW should apply weight decay (matrices yes; biases, norms no). */
  readonly decay: boolean;
}

/** Per layer: keys and values of earlier positions, [batch, heads, past, headDim]. */
export interface LayerCache {
  key: SymbolicTensor;
  value: SymbolicTensor;
}

export interface ForwardInputs {
  /** Token ids, int32 or int64 [batch, seq]. */
  tokenIds: SymbolicTensor;
  /** Positions of the tokens, int32/int64 [batch, seq] or [seq]; default 0..seq-1. */
  positionIds?: SymbolicTensor;
  /** Cached keys/values of earlier positions, one entry per layer (KV-cache decoding). */
  past?: readonly LayerCache[];
  /** 1 for real tokens, 0 for padding, int32/float [batch, past + seq]; masks keys. */
  attentionMask?: SymbolicTensor;
}

export interface ForwardOutputs {
  /** [batch, seq, vocab] */
  logits: SymbolicTensor;
  /** Keys/values including this call's positions (past + seq), one entry per layer. */
  present: LayerCache[];
  /**
   * Keys/values of this call's positions only ([batch, heads, seq, headDim]), one entry per layer: for runtimes
   * that keep the cache themselves and should not copy the whole of `present` out of every step.
   */
  added: LayerCache[];
}

const maskedScore = -1e9;

/**
 * The reference decoder-only transformer: token embeddings, learned or sinusoidal positions, pre-LN blocks
 * (causal multi-head attention, GELU MLP), final LayerNorm, tied or untied head. It builds graphs; it holds
 * no weights (see `initializeParameters`).
 */
export class DecoderTransformer {
  readonly config: ResolvedTransformerConfig;

  constructor(config: TransformerConfig) {
    this.config = resolveTransformerConfig(config);
  }

  get headDim(): number {
    return this.config.modelDim / this.config.heads;
  }

  /** Every parameter with its shape, in a stable order. */
  parameterSpecs(): ParameterSpec[] {
    const { vocabSize, contextLength, modelDim, mlpDim, layers } = this.config;
    const specs: ParameterSpec[] = [{ name: 'embed.weight', shape: [vocabSize, modelDim], decay: true }];
    if (this.config.positionEncoding === 'learned') {
      specs.push({ name: 'position.weight', shape: [contextLength, modelDim], decay: true });
    }
    for (let layer = 0; layer < layers; layer++) {
      const prefix = `blocks.${layer}`;
      specs.push(
        { name: `${prefix}.ln1.weight`, shape: [modelDim], decay: false },
        { name: `${prefix}.ln1.bias`, shape: [modelDim], decay: false },
        { name: `${prefix}.attention.qkv.weight`, shape: [modelDim, 3 * modelDim], decay: true },
        { name: `${prefix}.attention.qkv.bias`, shape: [3 * modelDim], decay: false },
        { name: `${prefix}.attention.out.weight`, shape: [modelDim, modelDim], decay: true },
        { name: `${prefix}.attention.out.bias`, shape: [modelDim], decay: false },
        { name: `${prefix}.ln2.weight`, shape: [modelDim], decay: false },
        { name: `${prefix}.ln2.bias`, shape: [modelDim], decay: false },
        { name: `${prefix}.mlp.up.weight`, shape: [modelDim, mlpDim], decay: true },
        { name: `${prefix}.mlp.up.bias`, shape: [mlpDim], decay: false },
        { name: `${prefix}.mlp.down.weight`, shape: [mlpDim, modelDim], decay: true },
        { name: `${prefix}.mlp.down.bias`, shape: [modelDim], decay: false },
      );
    }
    specs.push(
      { name: 'final_ln.weight', shape: [modelDim], decay: false },
      { name: 'final_ln.bias', shape: [modelDim], decay: false },
    );
    if (!this.config.tieEmbeddings)
      specs.push({ name: 'head.weight', shape: [modelDim, vocabSize], decay: true });
    return specs;
  }

  /** For `AdamW`'s `decay` option: weight decay on matrices and embeddings, not on biases and norms. */
  weightDecayFilter(): (name: string) => boolean {
    const decayed = new Set(
      this.parameterSpecs()
        .filter((spec) => spec.decay)
        .map((spec) => spec.name),
    );
    return (name) => decayed.has(name);
  }

  /** Parameter count. */
  parameterCount(): number {
    return this.parameterSpecs().reduce((total, spec) => total + spec.shape.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Fresh weights: normal(0, 0.02) matrices (residual projections scaled by 1/sqrt(2 · layers), as in GPT-2),
   * zero biases, unit LayerNorm scales.
   */
  initializeParameters(options: { seed: number }): Map<string, TensorValue> {
    const random = createRandom({ seed: options.seed });
    const residualScale = 1 / Math.sqrt(2 * this.config.layers);
    const parameters = new Map<string, TensorValue>();
    for (const spec of this.parameterSpecs()) {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      const data = this.config.dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
      if (
        spec.name.endsWith('ln1.weight') ||
        spec.name.endsWith('ln2.weight') ||
        spec.name === 'final_ln.weight'
      ) {
        data.fill(1);
      } else if (spec.decay) {
        const scale =
          spec.name.endsWith('out.weight') || spec.name.endsWith('down.weight') ? 0.02 * residualScale : 0.02;
        for (let index = 0; index < size; index++) data[index] = random.normal() * scale;
      }
      parameters.set(spec.name, { data, shape: spec.shape });
    }
    return parameters;
  }

  /** Declares every parameter as a graph input. */
  declareParameters(graph: Graph): Map<string, SymbolicTensor> {
    const declared = new Map<string, SymbolicTensor>();
    for (const spec of this.parameterSpecs())
      declared.set(spec.name, graph.parameter(spec.name, spec.shape, this.config.dtype));
    return declared;
  }

  /** Builds the forward pass into `parameters`' graph. */
  forward(parameters: ReadonlyMap<string, SymbolicTensor>, inputs: ForwardInputs): ForwardOutputs {
    const { modelDim, heads, layers } = this.config;
    const parameter = (name: string) => {
      const tensor = parameters.get(name);
      if (!tensor) {
        throw new InvalidArgumentError({ argument: 'parameters', message: `missing parameter '${name}'` });
      }
      return tensor;
    };
    const graph = inputs.tokenIds.graph;
    const [batch, seq] = inputs.tokenIds.shape as [Dim, Dim];
    const headDim = this.headDim;

    const positions = inputs.positionIds ?? this.defaultPositions(inputs.tokenIds, inputs.past?.[0]?.key);
    const positionTable =
      this.config.positionEncoding === 'learned' ? parameter('position.weight') : this.sinusoidalTable(graph);
    let hidden = ops.add(
      ops.gather(parameter('embed.weight'), inputs.tokenIds),
      ops.gather(positionTable, positions),
    );

    const attentionBias = this.attentionBias(inputs);
    const present: LayerCache[] = [];
    const added: LayerCache[] = [];
    const scale = 1 / Math.sqrt(headDim);
    for (let layer = 0; layer < layers; layer++) {
      const prefix = `blocks.${layer}`;
      const normed = ops.layerNormalization(
        hidden,
        parameter(`${prefix}.ln1.weight`),
        parameter(`${prefix}.ln1.bias`),
        {
          epsilon: this.config.layerNormEpsilon,
        },
      );
      const qkv = ops.add(
        ops.matmul(normed, parameter(`${prefix}.attention.qkv.weight`)),
        parameter(`${prefix}.attention.qkv.bias`),
      );
      const [query, key, value] = ops.split(qkv, { axis: 2, sizes: [modelDim, modelDim, modelDim] }) as [
        SymbolicTensor,
        SymbolicTensor,
        SymbolicTensor,
      ];
      const toHeads = (tensor: SymbolicTensor) =>
        ops.transpose(ops.reshape(tensor, [batch, seq, heads, headDim]), [0, 2, 1, 3]);
      let keys = toHeads(key);
      let values = toHeads(value);
      added.push({ key: keys, value: values });
      const past = inputs.past?.[layer];
      if (past) {
        keys = ops.concat([past.key, keys], 2);
        values = ops.concat([past.value, values], 2);
      }
      present.push({ key: keys, value: values });
      const scaledQuery = ops.mul(toHeads(query), scale);
      const scores = ops.add(ops.matmul(scaledQuery, ops.transpose(keys, [0, 1, 3, 2])), attentionBias);
      const attended = ops.matmul(ops.softmax(scores, -1), values);
      const merged = ops.reshape(ops.transpose(attended, [0, 2, 1, 3]), [batch, seq, modelDim]);
      const attentionOut = ops.add(
        ops.matmul(merged, parameter(`${prefix}.attention.out.weight`)),
        parameter(`${prefix}.attention.out.bias`),
      );
      hidden = ops.add(hidden, attentionOut);

      const normed2 = ops.layerNormalization(
        hidden,
        parameter(`${prefix}.ln2.weight`),
        parameter(`${prefix}.ln2.bias`),
        {
          epsilon: this.config.layerNormEpsilon,
        },
      );
      const up = ops.add(
        ops.matmul(normed2, parameter(`${prefix}.mlp.up.weight`)),
        parameter(`${prefix}.mlp.up.bias`),
      );
      const activated = ops.gelu(up, this.config.activation === 'gelu-tanh' ? 'tanh' : 'erf');
      const down = ops.add(
        ops.matmul(activated, parameter(`${prefix}.mlp.down.weight`)),
        parameter(`${prefix}.mlp.down.bias`),
      );
      hidden = ops.add(hidden, down);
    }
    const final = ops.layerNormalization(hidden, parameter('final_ln.weight'), parameter('final_ln.bias'), {
      epsilon: this.config.layerNormEpsilon,
    });
    const head = this.config.tieEmbeddings
      ? ops.transpose(parameter('embed.weight'), [1, 0])
      : parameter('head.weight');
    return { logits: ops.matmul(final, head), present, added };
  }

  /** 0..seq-1, or past..past+seq-1 after a cache of length past. */
  private defaultPositions(tokenIds: SymbolicTensor, pastKey: SymbolicTensor | undefined): SymbolicTensor {
    const seqLength = ops.dimension(tokenIds, 1);
    const start = pastKey
      ? ops.dimension(pastKey, 2)
      : tokenIds.graph.constant(BigInt64Array.of(0n), { shape: [] });
    return ops.range(start, ops.add(start, seqLength), tokenIds.shape[1]!);
  }

  private sinusoidalTable(graph: Graph): SymbolicTensor {
    const { contextLength, modelDim } = this.config;
    const table =
      this.config.dtype === 'float64'
        ? new Float64Array(contextLength * modelDim)
        : new Float32Array(contextLength * modelDim);
    for (let position = 0; position < contextLength; position++) {
      for (let pair = 0; pair < modelDim / 2; pair++) {
        const angle = position / 10000 ** ((2 * pair) / modelDim);
        table[position * modelDim + 2 * pair] = Math.sin(angle);
        if (2 * pair + 1 < modelDim) table[position * modelDim + 2 * pair + 1] = Math.cos(angle);
      }
    }
    return graph.constant(table, { dtype: this.config.dtype, shape: [contextLength, modelDim] });
  }

  /** Additive attention bias: -1e9 above the causal diagonal (shifted by the past length) and on padding. */
  private attentionBias(inputs: ForwardInputs): SymbolicTensor {
    const { tokenIds, past, attentionMask } = inputs;
    const dtype = this.config.dtype;
    const seq = tokenIds.shape[1]!;
    const seqLength = ops.unsqueeze(ops.dimension(tokenIds, 1), [0]);
    const pastKey = past?.[0]?.key;
    let total: Dim = seq;
    let totalLength = seqLength;
    let diagonal: SymbolicTensor | number = 1;
    if (pastKey) {
      const pastLength = ops.dimension(pastKey, 2);
      total = `${pastKey.shape[2]}+${seq}`;
      totalLength = ops.add(seqLength, pastLength);
      diagonal = ops.add(pastLength, 1);
    }
    const ones = ops.filled(ops.concat([seqLength, totalLength], 0), [seq, total], 1, dtype);
    let bias = ops.mul(ops.trilu(ones, { upper: true, diagonal }), maskedScore);
    if (attentionMask) {
      const keep = ops.cast(attentionMask, dtype);
      const padding = ops.mul(ops.sub(1, keep), maskedScore);
      bias = ops.add(bias, ops.unsqueeze(padding, [1, 2]));
    }
    return bias;
  }
}
