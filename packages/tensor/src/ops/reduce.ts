import { OpInputError } from '../errors/op-input-error.js';
import { TensorShapeError } from '../errors/tensor-shape-error.js';
import { intAttribute, readInt } from '../graph/attribute.js';
import type { SymbolicTensor } from '../graph/graph.js';
import type { InferContext, OpDefinition } from '../graph/op-definition.js';
import { type Dim, normalizeAxis } from '../graph/shape.js';
import {
  applyOp1,
  floatTypes,
  givenShapes,
  numericTypes,
  requireDtypes,
  requireInput,
  single,
} from './apply.js';
import { constantInts, int64Constant } from './constant-values.js';
import { cast, div, equal, where } from './elementwise.js';
import { expandLike, size, unsqueeze } from './shape-ops.js';

function reducedAxes(context: InferContext): number[] {
  const input = requireInput(context, 0);
  const axesTensor = context.inputs[1];
  if (!axesTensor) return input.shape.map((_, axis) => axis);
  const axes = constantInts(axesTensor);
  if (!axes) {
    throw new OpInputError({
      op: context.opType,
      input: 1,
      detail: `(axes '${axesTensor.name}') must be a build-time constant; pass axes as numbers`,
      shapes: givenShapes(context),
    });
  }
  return axes.map((axis) => {
    const normalized = normalizeAxis(axis, input.rank);
    if (normalized === undefined) {
      throw new TensorShapeError({
        op: context.opType,
        detail: `axis ${axis} out of range`,
        shapes: [input.shape],
      });
    }
    return normalized;
  });
}

function reduction(
  opType: string,
  allowed = numericTypes,
  gradient?: OpDefinition['gradient'],
): OpDefinition {
  return {
    opType,
    inferOutputs(context) {
      requireDtypes(context, allowed, [0]);
      const input = requireInput(context, 0);
      const axes = new Set(reducedAxes(context));
      const keepDims = readInt(context.attributes, 'keepdims', 1) === 1;
      const shape: Dim[] = [];
      input.shape.forEach((dim, axis) => {
        if (!axes.has(axis)) shape.push(dim);
        else if (keepDims) shape.push(1);
      });
      return single(input.dtype, shape);
    },
    gradient,
  };
}

type GradientNode = Parameters<NonNullable<OpDefinition['gradient']>>[0]['node'];

/** The output (or its gradient) in keep-dims form, so it broadcasts against the input. */
function keptGradient(node: GradientNode, dy: SymbolicTensor): SymbolicTensor {
  if (readInt(node.attributes, 'keepdims', 1) === 1) return dy;
  const input = node.inputs[0]!;
  const axes = constantInts(node.inputs[1]) ?? input.shape.map((_, axis) => axis);
  return unsqueeze(
    dy,
    axes.map((axis) => normalizeAxis(axis, input.rank)!).sort((a, b) => a - b),
  );
}

export const reduceSumDefinition = reduction('ReduceSum', numericTypes, ({ node, outputGradients }) => {
  const input = node.inputs[0]!;
  return [expandLike(keptGradient(node, outputGradients[0]!), input), undefined];
});

export const reduceMeanDefinition = reduction('ReduceMean', floatTypes, ({ node, outputGradients }) => {
  const input = node.inputs[0]!;
  const output = node.outputs[0]!;
  const count = div(cast(size(input), input.dtype), cast(size(output), input.dtype));
  return [expandLike(div(keptGradient(node, outputGradients[0]!), count), input), undefined];
});

export const reduceMaxDefinition = reduction('ReduceMax', numericTypes, ({ node, outputGradients }) => {
  const input = node.inputs[0]!;
  const kept = keptGradient(node, outputGradients[0]!);
  const keptMax = keptGradient(node, node.outputs[0]!);
  return [where(equal(input, keptMax), expandLike(kept, input), 0), undefined];
});

export interface ReduceOptions {
  /** Axes to reduce (negative counts from the end); all axes when omitted. */
  axes?: readonly number[];
  /** Keep reduced axes as size 1 (ONNX default: true). */
  keepDims?: boolean;
}

function reduce(definition: OpDefinition, x: SymbolicTensor, options: ReduceOptions): SymbolicTensor {
  const axes = options.axes === undefined ? undefined : int64Constant(x.graph, options.axes);
  return applyOp1(definition, [x, axes], { keepdims: intAttribute(options.keepDims === false ? 0 : 1) });
}

export function reduceSum(x: SymbolicTensor, options: ReduceOptions = {}): SymbolicTensor {
  return reduce(reduceSumDefinition, x, options);
}
export function reduceMean(x: SymbolicTensor, options: ReduceOptions = {}): SymbolicTensor {
  return reduce(reduceMeanDefinition, x, options);
}
export function reduceMax(x: SymbolicTensor, options: ReduceOptions = {}): SymbolicTensor {
  return reduce(reduceMaxDefinition, x, options);
}
