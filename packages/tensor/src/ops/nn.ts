import { GradientError } from '../errors/gradient-error.js';
import { TensorShapeError } from '../errors/tensor-shape-error.js';
import { floatAttribute, intAttribute, readFloat, readInt } from '../graph/attribute.js';
import type { SymbolicTensor } from '../graph/graph.js';
import type { OpDefinition } from '../graph/op-definition.js';
import { normalizeAxis } from '../graph/shape.js';
import { applyOp1, floatTypes, requireDtypes, requireInput, requireSameDtype, single } from './apply.js';
import { unbroadcast } from './broadcast-gradient.js';
import { add, div, exp, mul, sqrt, sub } from './elementwise.js';
import { reduceMean, reduceSum } from './reduce.js';

function axisOf(opType: string, x: SymbolicTensor, axis: number): number {
  const normalized = normalizeAxis(axis, x.rank);
  if (normalized === undefined) {
    throw new TensorShapeError({ op: opType, detail: `axis ${axis} out of range`, shapes: [x.shape] });
  }
  return normalized;
}

function softmaxLike(opType: string, gradient: OpDefinition['gradient']): OpDefinition {
  return {
    opType,
    inferOutputs(context) {
      requireDtypes(context, floatTypes);
      const input = requireInput(context, 0);
      axisOf(opType, input, readInt(context.attributes, 'axis', -1));
      return single(input.dtype, input.shape);
    },
    gradient,
  };
}

export const softmaxDefinition = softmaxLike('Softmax', ({ node, outputGradients }) => {
  const y = node.outputs[0]!;
  const dy = outputGradients[0]!;
  const axis = readInt(node.attributes, 'axis', -1);
  return [mul(y, sub(dy, reduceSum(mul(dy, y), { axes: [axis] })))];
});

export const logSoftmaxDefinition = softmaxLike('LogSoftmax', ({ node, outputGradients }) => {
  const y = node.outputs[0]!;
  const dy = outputGradients[0]!;
  const axis = readInt(node.attributes, 'axis', -1);
  return [sub(dy, mul(exp(y), reduceSum(dy, { axes: [axis] })))];
});

export const layerNormalizationDefinition: OpDefinition = {
  opType: 'LayerNormalization',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    const scale = requireInput(context, 1);
    requireDtypes(context, floatTypes);
    requireSameDtype(context, context.inputs[2] ? [0, 1, 2] : [0, 1]);
    const axis = axisOf('LayerNormalization', input, readInt(context.attributes, 'axis', -1));
    const normalized = input.shape.slice(axis);
    for (const parameter of [scale, context.inputs[2]]) {
      if (parameter && parameter.shape.join() !== normalized.join()) {
        throw new TensorShapeError({
          op: 'LayerNormalization',
          detail: `scale and bias must have the normalized shape [${normalized.join(', ')}]`,
          shapes: [input.shape, parameter.shape],
        });
      }
    }
    // Mean and InvStdDev (float32 statistics, keep-dims shape) feed the gradient of float32 inputs.
    const statistics = [...input.shape.slice(0, axis), ...normalized.map(() => 1)];
    return [
      { dtype: input.dtype, shape: input.shape },
      { dtype: 'float32', shape: statistics },
      { dtype: 'float32', shape: statistics },
    ];
  },
  gradient({ node, outputGradients, needsGradient }) {
    const [x, scale, bias] = node.inputs as [SymbolicTensor, SymbolicTensor, SymbolicTensor | undefined];
    const axis = axisOf('LayerNormalization', x, readInt(node.attributes, 'axis', -1));
    const epsilon = readFloat(node.attributes, 'epsilon', 1e-5);
    if (axis !== x.rank - 1) {
      throw new GradientError({
        op: 'LayerNormalization',
        detail: 'gradient supports normalizing the last axis only',
      });
    }
    const dy = outputGradients[0]!;
    let inverseStd: SymbolicTensor;
    let normalized: SymbolicTensor;
    if (x.dtype === 'float32') {
      inverseStd = node.outputs[2]!;
      normalized = mul(sub(x, node.outputs[1]!), inverseStd);
    } else {
      // The statistics outputs are float32 even for float64 inputs; recompute them at full precision.
      const centered = sub(x, reduceMean(x, { axes: [-1] }));
      inverseStd = div(1, sqrt(add(reduceMean(mul(centered, centered), { axes: [-1] }), epsilon)));
      normalized = mul(centered, inverseStd);
    }
    let dx: SymbolicTensor | undefined;
    if (needsGradient[0]) {
      const scaled = mul(dy, scale);
      const meanScaled = reduceMean(scaled, { axes: [-1] });
      const meanProjection = reduceMean(mul(scaled, normalized), { axes: [-1] });
      dx = mul(inverseStd, sub(sub(scaled, meanScaled), mul(normalized, meanProjection)));
    }
    return [
      dx,
      needsGradient[1] ? unbroadcast(mul(dy, normalized), scale) : undefined,
      bias && needsGradient[2] ? unbroadcast(dy, bias) : undefined,
    ];
  },
};

export const triluDefinition: OpDefinition = {
  opType: 'Trilu',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    if (input.rank < 2)
      throw new TensorShapeError({ op: 'Trilu', detail: 'input needs rank >= 2', shapes: [input.shape] });
    if (context.inputs[1]) requireDtypes(context, ['int64'], [1]);
    return single(input.dtype, input.shape);
  },
  gradient({ node, outputGradients }) {
    const upper = readInt(node.attributes, 'upper', 1) === 1;
    return [trilu(outputGradients[0]!, { upper, diagonal: node.inputs[1] }), undefined];
  },
};

export function softmax(x: SymbolicTensor, axis = -1): SymbolicTensor {
  return applyOp1(softmaxDefinition, [x], { axis: intAttribute(axis) });
}

export function logSoftmax(x: SymbolicTensor, axis = -1): SymbolicTensor {
  return applyOp1(logSoftmaxDefinition, [x], { axis: intAttribute(axis) });
}

/** Layer normalization over the last axis (ONNX LayerNormalization, opset 17+). */
export function layerNormalization(
  x: SymbolicTensor,
  scale: SymbolicTensor,
  bias?: SymbolicTensor,
  options: { epsilon?: number } = {},
): SymbolicTensor {
  return applyOp1(layerNormalizationDefinition, bias ? [x, scale, bias] : [x, scale], {
    axis: intAttribute(-1),
    epsilon: floatAttribute(options.epsilon ?? 1e-5),
  });
}

/**
 * Upper or lower triangle of the last two axes (ONNX Trilu). `diagonal` shifts the kept band (k), and may be a
 * run-time int64 scalar (for example the past length of a KV cache).
 */
export function trilu(
  x: SymbolicTensor,
  options: { upper: boolean; diagonal?: number | SymbolicTensor },
): SymbolicTensor {
  const diagonal =
    typeof options.diagonal === 'number'
      ? x.graph.constant(BigInt64Array.of(BigInt(options.diagonal)), { shape: [] })
      : options.diagonal;
  return applyOp1(triluDefinition, diagonal ? [x, diagonal] : [x], {
    upper: intAttribute(options.upper ? 1 : 0),
  });
}
