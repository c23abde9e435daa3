import { GradientError } from '../errors/gradient-error.js';
import { TensorDtypeError } from '../errors/tensor-dtype-error.js';
import { TensorShapeError } from '../errors/tensor-shape-error.js';
import { intAttribute, readInt, stringAttribute } from '../graph/attribute.js';
import { createTypedArray } from '../graph/dtype.js';
import type { SymbolicTensor } from '../graph/graph.js';
import type { InferContext, OpDefinition } from '../graph/op-definition.js';
import {
  addDims,
  broadcastShapes,
  type Dim,
  dimsCompatible,
  inferredReshapeDim,
  isStaticShape,
  normalizeAxis,
  type Shape,
  shapeSize,
} from '../graph/shape.js';
import { applyOp, applyOp1, indexTypes, requireDtypes, requireInput, single } from './apply.js';
import { unbroadcast } from './broadcast-gradient.js';
import { constantInts, int64Constant } from './constant-values.js';
import { gatherRowsGradient } from './gather-gradient.js';

const largeIndex = 2 ** 31 - 1;

function shapeError(context: InferContext, detail: string, shapes?: readonly Shape[]): TensorShapeError {
  return new TensorShapeError({
    op: context.opType,
    detail,
    shapes: shapes ?? context.inputs.filter((input) => input !== undefined).map((input) => input.shape),
  });
}

function axisOrThrow(context: InferContext, axis: number, rank: number): number {
  const normalized = normalizeAxis(axis, rank);
  if (normalized === undefined) throw shapeError(context, `axis ${axis} out of range for rank ${rank}`);
  return normalized;
}

function constantsOrThrow(context: InferContext, index: number, what: string): number[] {
  const values = constantInts(context.inputs[index]);
  if (!values) throw shapeError(context, `${what} must be a constant`);
  return values;
}

/** Reshaped gradient back to the input's shape (Reshape, Squeeze, Unsqueeze, Flatten-like ops). */
const reshapeBack: OpDefinition['gradient'] = ({ node, outputGradients }) => [
  reshapeLike(outputGradients[0]!, node.inputs[0]!),
  undefined,
];

export const reshapeDefinition: OpDefinition = {
  opType: 'Reshape',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    const declared = context.declaredShapes?.[0];
    const target = constantInts(context.inputs[1]);
    let shape: Shape;
    if (declared) shape = declared;
    else if (target) {
      const resolved: Dim[] = target.map((dim, axis) => (dim === 0 ? (input.shape[axis] ?? 0) : dim));
      const inferred = resolved.indexOf(-1);
      if (inferred >= 0) {
        const known = resolved.filter((_, axis) => axis !== inferred);
        resolved[inferred] = inferredReshapeDim(input.shape, known);
      }
      shape = resolved;
    } else throw shapeError(context, 'a computed target shape needs a declared output shape');
    if (isStaticShape(input.shape) && isStaticShape(shape) && shapeSize(input.shape) !== shapeSize(shape)) {
      throw shapeError(context, `cannot reshape ${shapeSize(input.shape)} elements`, [input.shape, shape]);
    }
    return single(input.dtype, shape);
  },
  gradient: reshapeBack,
};

export const transposeDefinition: OpDefinition = {
  opType: 'Transpose',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    const perm = permutation(context);
    return single(
      input.dtype,
      perm.map((axis) => input.shape[axis]!),
    );
  },
  gradient({ node, outputGradients }) {
    const perm = permutationOf(node.inputs[0]!.rank, node.attributes);
    const inverse = new Array<number>(perm.length);
    perm.forEach((axis, index) => {
      inverse[axis] = index;
    });
    return [transpose(outputGradients[0]!, inverse)];
  },
};

function permutationOf(rank: number, attributes: InferContext['attributes']): number[] {
  const attribute = attributes.perm;
  if (attribute?.type === 'ints') return [...attribute.value];
  return Array.from({ length: rank }, (_, axis) => rank - 1 - axis);
}

function permutation(context: InferContext): number[] {
  const input = requireInput(context, 0);
  const perm = permutationOf(input.rank, context.attributes);
  const sorted = [...perm].sort((a, b) => a - b);
  if (sorted.length !== input.rank || sorted.some((axis, index) => axis !== index)) {
    throw shapeError(context, `perm [${perm.join(', ')}] is not a permutation of rank ${input.rank}`);
  }
  return perm;
}

export const squeezeDefinition: OpDefinition = {
  opType: 'Squeeze',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    const axes = new Set(
      constantsOrThrow(context, 1, 'axes').map((axis) => axisOrThrow(context, axis, input.rank)),
    );
    for (const axis of axes) {
      if (input.shape[axis] !== 1)
        throw shapeError(context, `axis ${axis} has size ${input.shape[axis]}, not 1`);
    }
    return single(
      input.dtype,
      input.shape.filter((_, axis) => !axes.has(axis)),
    );
  },
  gradient: reshapeBack,
};

export const unsqueezeDefinition: OpDefinition = {
  opType: 'Unsqueeze',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    const rank = input.rank + constantsOrThrow(context, 1, 'axes').length;
    const axes = new Set(
      constantsOrThrow(context, 1, 'axes').map((axis) => axisOrThrow(context, axis, rank)),
    );
    const shape: Dim[] = [];
    let source = 0;
    for (let axis = 0; axis < rank; axis++) shape.push(axes.has(axis) ? 1 : input.shape[source++]!);
    return single(input.dtype, shape);
  },
  gradient: reshapeBack,
};

export const expandDefinition: OpDefinition = {
  opType: 'Expand',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    const declared = context.declaredShapes?.[0];
    const target = constantInts(context.inputs[1]);
    const targetShape = declared ?? target;
    if (!targetShape) throw shapeError(context, 'a computed target shape needs a declared output shape');
    const shape = broadcastShapes([input.shape, targetShape]);
    if (!shape) throw shapeError(context, 'cannot expand', [input.shape, targetShape]);
    return single(input.dtype, shape);
  },
  gradient: ({ node, outputGradients }) => [unbroadcast(outputGradients[0]!, node.inputs[0]!), undefined],
};

export const concatDefinition: OpDefinition = {
  opType: 'Concat',
  inferOutputs(context) {
    const inputs = context.inputs.map((_, index) => requireInput(context, index));
    const first = inputs[0]!;
    const axis = axisOrThrow(context, readInt(context.attributes, 'axis', 0), first.rank);
    for (const input of inputs) {
      if (input.dtype !== first.dtype) {
        throw new TensorDtypeError({
          op: 'Concat',
          detail: 'inputs differ',
          dtypes: inputs.map((item) => item.dtype),
        });
      }
      if (
        input.rank !== first.rank ||
        input.shape.some((dim, index) => index !== axis && !dimsCompatible(dim, first.shape[index]!))
      ) {
        throw shapeError(context, `shapes must match except along axis ${axis}`);
      }
    }
    const shape = [...first.shape];
    shape[axis] = addDims(inputs.map((input) => input.shape[axis]!));
    return single(first.dtype, shape);
  },
  gradient({ node, outputGradients }) {
    const axis = normalizeAxis(readInt(node.attributes, 'axis', 0), node.inputs[0]!.rank)!;
    const sizes = node.inputs.map((input) => input!.shape[axis]!);
    if (!sizes.every((dim): dim is number => typeof dim === 'number')) {
      throw new GradientError({ op: 'Concat', detail: `gradient needs static sizes along axis ${axis}` });
    }
    return split(outputGradients[0]!, { axis, sizes });
  },
};

export const splitDefinition: OpDefinition = {
  opType: 'Split',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    const axis = axisOrThrow(context, readInt(context.attributes, 'axis', 0), input.rank);
    const sizes = constantsOrThrow(context, 1, 'split sizes');
    const dim = input.shape[axis]!;
    const total = sizes.reduce((sum, value) => sum + value, 0);
    if (typeof dim === 'number' && total !== dim) {
      throw shapeError(
        context,
        `split sizes [${sizes.join(', ')}] do not add up to ${dim} along axis ${axis}`,
      );
    }
    return sizes.map((size) => ({
      dtype: input.dtype,
      shape: input.shape.map((d, index) => (index === axis ? size : d)),
    }));
  },
  gradient({ node, outputGradients }) {
    const axis = normalizeAxis(readInt(node.attributes, 'axis', 0), node.inputs[0]!.rank)!;
    const parts = node.outputs.map((output, index) => outputGradients[index] ?? zerosLike(output));
    return [concat(parts, axis), undefined];
  },
};

interface SliceSpec {
  starts: number[];
  ends: number[];
  axes: number[];
  steps: number[];
}

function sliceSpec(context: InferContext, rank: number): SliceSpec {
  const starts = constantsOrThrow(context, 1, 'starts');
  const ends = constantsOrThrow(context, 2, 'ends');
  const axes = context.inputs[3] ? constantsOrThrow(context, 3, 'axes') : starts.map((_, index) => index);
  const steps = context.inputs[4] ? constantsOrThrow(context, 4, 'steps') : starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw shapeError(context, 'starts, ends, axes and steps must have the same length');
  }
  return { starts, ends, axes: axes.map((axis) => axisOrThrow(context, axis, rank)), steps };
}

function clampIndex(index: number, dim: number, step: number): number {
  const resolved = index < 0 ? index + dim : index;
  return step > 0 ? Math.min(Math.max(resolved, 0), dim) : Math.min(Math.max(resolved, -1), dim - 1);
}

export const sliceDefinition: OpDefinition = {
  opType: 'Slice',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    const spec = sliceSpec(context, input.rank);
    const shape: Dim[] = [...input.shape];
    spec.axes.forEach((axis, index) => {
      const start = spec.starts[index]!;
      const end = spec.ends[index]!;
      const step = spec.steps[index]!;
      if (step === 0) throw shapeError(context, 'step 0');
      const dim = input.shape[axis]!;
      if (typeof dim === 'number') {
        const from = clampIndex(start, dim, step);
        const to = clampIndex(end, dim, step);
        shape[axis] = Math.max(0, Math.ceil((to - from) / step));
      } else if (step === 1 && start >= 0 && end >= largeIndex) {
        shape[axis] = start === 0 ? dim : `${dim}-${start}`;
      } else if (step === 1 && start >= 0 && end >= 0) {
        shape[axis] = end - start;
      } else shape[axis] = `${dim}[${start}:${end}:${step}]`;
    });
    return single(input.dtype, shape);
  },
  gradient({ node, outputGradients }) {
    const input = node.inputs[0]!;
    const context = {
      opType: 'Slice',
      inputs: node.inputs,
      attributes: node.attributes,
      declaredShapes: undefined,
    };
    const spec = sliceSpec(context, input.rank);
    const pads = new Array<number>(input.rank * 2).fill(0);
    spec.axes.forEach((axis, index) => {
      const dim = input.shape[axis]!;
      if (spec.steps[index] !== 1 || typeof dim !== 'number') {
        throw new GradientError({
          op: 'Slice',
          detail: `gradient needs step 1 and a static size on axis ${axis}`,
        });
      }
      const from = clampIndex(spec.starts[index]!, dim, 1);
      const to = Math.max(from, clampIndex(spec.ends[index]!, dim, 1));
      pads[axis] = from;
      pads[axis + input.rank] = dim - to;
    });
    return [pad(outputGradients[0]!, pads)];
  },
};

export const padDefinition: OpDefinition = {
  opType: 'Pad',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    const pads = constantsOrThrow(context, 1, 'pads');
    if (pads.length !== input.rank * 2)
      throw shapeError(context, `needs ${input.rank * 2} pads, got ${pads.length}`);
    const shape = input.shape.map((dim, axis) => {
      const extra = pads[axis]! + pads[axis + input.rank]!;
      return extra === 0 ? dim : addDims([dim, extra]);
    });
    return single(input.dtype, shape);
  },
  gradient({ node, outputGradients }) {
    const input = node.inputs[0]!;
    const pads = constantInts(node.inputs[1])!;
    const axes = input.shape.map((_, axis) => axis);
    const starts = axes.map((axis) => pads[axis]!);
    const ends = axes.map((axis) => {
      const after = pads[axis + input.rank]!;
      return after === 0 ? largeIndex : -after;
    });
    return [slice(outputGradients[0]!, { starts, ends, axes })];
  },
};

export const gatherDefinition: OpDefinition = {
  opType: 'Gather',
  inferOutputs(context) {
    const data = requireInput(context, 0);
    const indices = requireInput(context, 1);
    requireDtypes(context, indexTypes, [1]);
    const axis = axisOrThrow(context, readInt(context.attributes, 'axis', 0), data.rank);
    return single(data.dtype, [
      ...data.shape.slice(0, axis),
      ...indices.shape,
      ...data.shape.slice(axis + 1),
    ]);
  },
  gradient({ node, outputGradients }) {
    const data = node.inputs[0]!;
    const indices = node.inputs[1]!;
    const axis = normalizeAxis(readInt(node.attributes, 'axis', 0), data.rank)!;
    const dy = outputGradients[0]!;
    if (axis === 0) {
      const deterministic = gatherRowsGradient(data, indices, dy);
      if (deterministic) return [deterministic, undefined];
    }
    const scatterIndices = unsqueeze(cast64(indices), [indices.rank]);
    if (axis === 0) return [scatterND(zerosLike(data), scatterIndices, dy, 'add'), undefined];
    // Move the gathered axis to the front, scatter-add rows there, and move it back.
    const indexAxes = Array.from({ length: indices.rank }, (_, index) => axis + index);
    const before = Array.from({ length: axis }, (_, index) => index);
    const after = Array.from(
      { length: dy.rank - axis - indices.rank },
      (_, index) => axis + indices.rank + index,
    );
    const movedGradient = transpose(dy, [...indexAxes, ...before, ...after]);
    const dataPerm = [
      axis,
      ...before,
      ...Array.from({ length: data.rank - axis - 1 }, (_, index) => axis + 1 + index),
    ];
    const movedZeros = transpose(zerosLike(data), dataPerm);
    const scattered = scatterND(movedZeros, scatterIndices, movedGradient, 'add');
    const inverse = new Array<number>(dataPerm.length);
    dataPerm.forEach((source, index) => {
      inverse[source] = index;
    });
    return [transpose(scattered, inverse), undefined];
  },
};

export const gatherElementsDefinition: OpDefinition = {
  opType: 'GatherElements',
  inferOutputs(context) {
    const data = requireInput(context, 0);
    const indices = requireInput(context, 1);
    requireDtypes(context, indexTypes, [1]);
    axisOrThrow(context, readInt(context.attributes, 'axis', 0), data.rank);
    if (indices.rank !== data.rank) throw shapeError(context, 'data and indices must have the same rank');
    return single(data.dtype, indices.shape);
  },
  gradient({ node, outputGradients }) {
    const [data, indices] = node.inputs as [SymbolicTensor, SymbolicTensor];
    const axis = readInt(node.attributes, 'axis', 0);
    return [
      scatterElements(zerosLike(data), indices, outputGradients[0]!, { axis, reduction: 'add' }),
      undefined,
    ];
  },
};

export const scatterNDDefinition: OpDefinition = {
  opType: 'ScatterND',
  inferOutputs(context) {
    const data = requireInput(context, 0);
    requireInput(context, 2);
    requireDtypes(context, ['int64'], [1]);
    return single(data.dtype, data.shape);
  },
};

export const scatterElementsDefinition: OpDefinition = {
  opType: 'ScatterElements',
  inferOutputs(context) {
    const data = requireInput(context, 0);
    requireDtypes(context, indexTypes, [1]);
    requireInput(context, 2);
    return single(data.dtype, data.shape);
  },
};

export const shapeDefinition: OpDefinition = {
  opType: 'Shape',
  inferOutputs(context) {
    return single('int64', [requireInput(context, 0).rank]);
  },
};

export const sizeDefinition: OpDefinition = {
  opType: 'Size',
  inferOutputs(context) {
    requireInput(context, 0);
    return single('int64', []);
  },
};

export const constantOfShapeDefinition: OpDefinition = {
  opType: 'ConstantOfShape',
  inferOutputs(context) {
    const shapeInput = requireInput(context, 0);
    const value = context.attributes.value;
    const dtype = value?.type === 'tensor' ? value.value.dtype : 'float32';
    const declared = context.declaredShapes?.[0] ?? constantInts(shapeInput);
    if (!declared) throw shapeError(context, 'a computed shape needs a declared output shape');
    return single(dtype, declared);
  },
};

/**
 * Reshapes to `shape`. Named dims equal to the input's dim on the same axis are copied at run time; at most
 * one other named dim is inferred (-1). Use `reshapeLike` to match another tensor's run-time shape.
 */
export function reshape(x: SymbolicTensor, shape: readonly Dim[]): SymbolicTensor {
  let inferred = 0;
  const target = shape.map((dim, axis) => {
    if (typeof dim === 'number') {
      if (dim === -1) inferred++;
      return dim;
    }
    if (x.shape[axis] === dim) return 0;
    inferred++;
    return -1;
  });
  if (inferred > 1) {
    throw new TensorShapeError({
      op: 'Reshape',
      detail: 'at most one dim can be inferred; use reshapeLike for run-time shapes',
      shapes: [x.shape, shape],
    });
  }
  const declared = shape.includes(-1) ? undefined : shape;
  return applyOp1(reshapeDefinition, [x, int64Constant(x.graph, target)], {}, [declared]);
}

/** Reshapes `x` to the run-time shape of `like`. */
export function reshapeLike(x: SymbolicTensor, like: SymbolicTensor): SymbolicTensor {
  if (x.shape.length === like.shape.length && x.shape.every((dim, axis) => dim === like.shape[axis]))
    return x;
  const target = isStaticShape(like.shape) ? int64Constant(x.graph, like.shape) : shapeOf(like);
  return applyOp1(reshapeDefinition, [x, target], {}, [like.shape]);
}

export function transpose(x: SymbolicTensor, perm: readonly number[]): SymbolicTensor {
  // Only a full-length identity is a no-op; anything else goes through shape inference, which rejects it.
  if (perm.length === x.rank && perm.every((axis, index) => axis === index)) return x;
  return applyOp1(transposeDefinition, [x], { perm: { type: 'ints', value: perm } });
}

export function squeeze(x: SymbolicTensor, axes: readonly number[]): SymbolicTensor {
  return applyOp1(squeezeDefinition, [x, int64Constant(x.graph, axes)]);
}

export function unsqueeze(x: SymbolicTensor, axes: readonly number[]): SymbolicTensor {
  return applyOp1(unsqueezeDefinition, [x, int64Constant(x.graph, axes)]);
}

/** Broadcasts to `shape`; named dims must already be present in `x` (use `expandLike` otherwise). */
export function expand(x: SymbolicTensor, shape: readonly Dim[]): SymbolicTensor {
  const offset = shape.length - x.rank;
  const target = shape.map((dim, axis) => {
    if (typeof dim === 'number') return dim;
    if (x.shape[axis - offset] === dim) return 1;
    throw new TensorShapeError({
      op: 'Expand',
      detail: `named dim '${dim}' is not in the input`,
      shapes: [x.shape, shape],
    });
  });
  return applyOp1(expandDefinition, [x, int64Constant(x.graph, target)], {}, [shape]);
}

/** Broadcasts `x` to the run-time shape of `like`. */
export function expandLike(x: SymbolicTensor, like: SymbolicTensor): SymbolicTensor {
  const target = isStaticShape(like.shape) ? int64Constant(x.graph, like.shape) : shapeOf(like);
  return applyOp1(expandDefinition, [x, target], {}, [like.shape]);
}

export function concat(tensors: readonly SymbolicTensor[], axis: number): SymbolicTensor {
  if (tensors.length === 1) return tensors[0]!;
  return applyOp1(concatDefinition, tensors, { axis: intAttribute(axis) });
}

export function split(
  x: SymbolicTensor,
  options: { axis: number; sizes: readonly number[] },
): SymbolicTensor[] {
  return applyOp(splitDefinition, [x, int64Constant(x.graph, options.sizes)], {
    axis: intAttribute(options.axis),
  });
}

/** ONNX Slice with constant starts/ends (ends past the size are clamped, as in ONNX). */
export function slice(
  x: SymbolicTensor,
  options: {
    starts: readonly number[];
    ends: readonly number[];
    axes?: readonly number[];
    steps?: readonly number[];
  },
): SymbolicTensor {
  const graph = x.graph;
  return applyOp1(sliceDefinition, [
    x,
    int64Constant(graph, options.starts),
    int64Constant(graph, options.ends),
    options.axes ? int64Constant(graph, options.axes) : undefined,
    options.steps ? int64Constant(graph, options.steps) : undefined,
  ]);
}

/** Zero padding; `pads` lists the amounts before every axis, then after every axis (ONNX order). */
export function pad(x: SymbolicTensor, pads: readonly number[]): SymbolicTensor {
  return applyOp1(padDefinition, [x, int64Constant(x.graph, pads)], { mode: stringAttribute('constant') });
}

/** Rows (or slices along `axis`) of `data` selected by integer `indices`, as ONNX Gather / numpy.take. */
export function gather(data: SymbolicTensor, indices: SymbolicTensor, axis = 0): SymbolicTensor {
  return applyOp1(gatherDefinition, [data, indices], { axis: intAttribute(axis) });
}

/** Per-element gather along `axis` (indices has data's rank), as ONNX GatherElements / torch.gather. */
export function gatherElements(data: SymbolicTensor, indices: SymbolicTensor, axis: number): SymbolicTensor {
  return applyOp1(gatherElementsDefinition, [data, indices], { axis: intAttribute(axis) });
}

export function scatterND(
  data: SymbolicTensor,
  indices: SymbolicTensor,
  updates: SymbolicTensor,
  reduction: 'none' | 'add' = 'none',
): SymbolicTensor {
  return applyOp1(scatterNDDefinition, [data, indices, updates], { reduction: stringAttribute(reduction) });
}

export function scatterElements(
  data: SymbolicTensor,
  indices: SymbolicTensor,
  updates: SymbolicTensor,
  options: { axis: number; reduction?: 'none' | 'add' },
): SymbolicTensor {
  return applyOp1(scatterElementsDefinition, [data, indices, updates], {
    axis: intAttribute(options.axis),
    reduction: stringAttribute(options.reduction ?? 'none'),
  });
}

/** The run-time shape of `x` as an int64 vector (one node per tensor, shared). */
export function shapeOf(x: SymbolicTensor): SymbolicTensor {
  return x.graph.cachedShapeOf(x, () => applyOp1(shapeDefinition, [x]));
}

/** The run-time element count of `x` as an int64 scalar. */
export function size(x: SymbolicTensor): SymbolicTensor {
  if (isStaticShape(x.shape))
    return x.graph.constant(BigInt64Array.of(BigInt(shapeSize(x.shape))), { shape: [] });
  return applyOp1(sizeDefinition, [x]);
}

/** A tensor of `x`'s shape and dtype filled with `value`. */
export function fullLike(x: SymbolicTensor, value: number): SymbolicTensor {
  const data = createTypedArray(x.dtype, 1);
  if (data instanceof BigInt64Array) data[0] = BigInt(value);
  else data[0] = value;
  const target = isStaticShape(x.shape) ? int64Constant(x.graph, x.shape) : shapeOf(x);
  return applyOp1(
    constantOfShapeDefinition,
    [target],
    { value: { type: 'tensor', value: { dtype: x.dtype, data } } },
    [x.shape],
  );
}

export function zerosLike(x: SymbolicTensor): SymbolicTensor {
  return fullLike(x, 0);
}

function cast64(indices: SymbolicTensor): SymbolicTensor {
  if (indices.dtype === 'int64') return indices;
  return applyOp1(castForIndices, [indices], { to: intAttribute(7) });
}

const castForIndices: OpDefinition = {
  opType: 'Cast',
  inferOutputs(context) {
    return single('int64', requireInput(context, 0).shape);
  },
};

export const rangeDefinition: OpDefinition = {
  opType: 'Range',
  inferOutputs(context) {
    const start = requireInput(context, 0);
    const declared = context.declaredShapes?.[0];
    if (!declared) throw shapeError(context, 'Range needs a declared output shape');
    return single(start.dtype, declared);
  },
};

/** The run-time size of one axis of `x`, as an int64 scalar. */
export function dimension(x: SymbolicTensor, axis: number): SymbolicTensor {
  const dim = x.shape[normalizeAxis(axis, x.rank) ?? axis];
  if (typeof dim === 'number') return x.graph.constant(BigInt64Array.of(BigInt(dim)), { shape: [] });
  return gather(shapeOf(x), x.graph.constant(BigInt64Array.of(BigInt(axis)), { shape: [] }));
}

/** int64 [start, start + 1, ..., limit - 1]; `length` names the (usually symbolic) result size. */
export function range(start: SymbolicTensor, limit: SymbolicTensor, length: Dim): SymbolicTensor {
  const one = start.graph.constant(BigInt64Array.of(1n), { shape: [] });
  return applyOp1(rangeDefinition, [start, limit, one], {}, [[length]]);
}

/** A tensor filled with `value` whose shape is the run-time int64 vector `shape` (declared as `declared`). */
export function filled(
  shape: SymbolicTensor,
  declared: Shape,
  value: number,
  dtype: 'float32' | 'float64' = 'float32',
): SymbolicTensor {
  const data = dtype === 'float64' ? Float64Array.of(value) : Float32Array.of(value);
  return applyOp1(constantOfShapeDefinition, [shape], { value: { type: 'tensor', value: { dtype, data } } }, [
    declared,
  ]);
}
