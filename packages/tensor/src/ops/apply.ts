import { OpInputError } from '../errors/op-input-error.js';
import { TensorDtypeError } from '../errors/tensor-dtype-error.js';
import { TensorShapeError } from '../errors/tensor-shape-error.js';
import type { Attributes } from '../graph/attribute.js';
import type { DataType } from '../graph/dtype.js';
import type { Graph, SymbolicTensor } from '../graph/graph.js';
import type { InferContext, OpDefinition, OutputSpec } from '../graph/op-definition.js';
import { broadcastShapes, type Shape } from '../graph/shape.js';

/** A tensor, or a plain number that becomes a scalar constant of the other operand's dtype. */
export type TensorLike = SymbolicTensor | number;

/** Applies an op definition and returns all its outputs. */
export function applyOp(
  definition: OpDefinition,
  inputs: readonly (SymbolicTensor | undefined)[],
  attributes: Attributes = {},
  declaredShapes?: readonly (Shape | undefined)[],
): SymbolicTensor[] {
  const graph = graphOf(definition.opType, inputs);
  return graph.addNode({ definition, inputs, attributes, declaredShapes });
}

/** Applies a single-output op. */
export function applyOp1(
  definition: OpDefinition,
  inputs: readonly (SymbolicTensor | undefined)[],
  attributes: Attributes = {},
  declaredShapes?: readonly (Shape | undefined)[],
): SymbolicTensor {
  return applyOp(definition, inputs, attributes, declaredShapes)[0]!;
}

export function graphOf(opType: string, inputs: readonly (SymbolicTensor | number | undefined)[]): Graph {
  for (const input of inputs) if (input !== undefined && typeof input !== 'number') return input.graph;
  throw new OpInputError({
    op: opType,
    input: 0,
    detail:
      'must be a tensor: the op got no tensor input (plain numbers need a tensor operand for their dtype)',
    shapes: [],
  });
}

/** Turns numbers into scalar constants matching the dtype of the first tensor operand. */
export function toTensors(opType: string, values: readonly TensorLike[]): SymbolicTensor[] {
  const graph = graphOf(opType, values);
  const reference = values.find((value): value is SymbolicTensor => typeof value !== 'number')!;
  return values.map((value) =>
    typeof value === 'number' ? graph.constant(value, { dtype: reference.dtype, shape: [] }) : value,
  );
}

export function requireInput(context: InferContext, index: number): SymbolicTensor {
  const input = context.inputs[index];
  if (!input) {
    throw new OpInputError({
      op: context.opType,
      input: index,
      detail: 'is required but missing',
      shapes: givenShapes(context),
    });
  }
  return input;
}

/** Shapes of the inputs an op was given, for error messages. */
export function givenShapes(context: InferContext): Shape[] {
  return context.inputs.filter((input) => input !== undefined).map((input) => input.shape);
}

export function requireDtypes(
  context: InferContext,
  allowed: readonly DataType[],
  indices?: readonly number[],
): void {
  const positions = indices ?? context.inputs.map((_, index) => index);
  for (const index of positions) {
    const input = context.inputs[index];
    if (input && !allowed.includes(input.dtype)) {
      throw new TensorDtypeError({
        op: context.opType,
        detail: `input ${index} ('${input.name}') must be one of ${allowed.join('/')}`,
        dtypes: [input.dtype],
      });
    }
  }
}

export function requireSameDtype(context: InferContext, indices: readonly number[]): DataType {
  const dtypes = indices.map((index) => requireInput(context, index).dtype);
  if (dtypes.some((dtype) => dtype !== dtypes[0])) {
    throw new TensorDtypeError({ op: context.opType, detail: 'operands must have the same dtype', dtypes });
  }
  return dtypes[0]!;
}

export function broadcastOrThrow(context: InferContext, indices: readonly number[]): Shape {
  const shapes = indices.map((index) => requireInput(context, index).shape);
  const shape = broadcastShapes(shapes);
  if (!shape) throw new TensorShapeError({ op: context.opType, detail: 'shapes do not broadcast', shapes });
  return shape;
}

export function single(dtype: DataType, shape: Shape): OutputSpec[] {
  return [{ dtype, shape }];
}

export const floatTypes: readonly DataType[] = ['float32', 'float64'];
export const numericTypes: readonly DataType[] = ['float32', 'float64', 'int32', 'int64', 'uint8'];
export const indexTypes: readonly DataType[] = ['int32', 'int64'];
