import { intAttribute, readInt } from '../graph/attribute.js';
import type { DataType } from '../graph/dtype.js';
import type { SymbolicTensor } from '../graph/graph.js';
import type { GradientContext, OpDefinition } from '../graph/op-definition.js';
import {
  applyOp1,
  broadcastOrThrow,
  floatTypes,
  numericTypes,
  requireDtypes,
  requireInput,
  requireSameDtype,
  single,
  type TensorLike,
  toTensors,
} from './apply.js';
import { unbroadcast } from './broadcast-gradient.js';

type GradientRule = (context: GradientContext) => (SymbolicTensor | undefined)[];

function binary(opType: string, allowed: readonly DataType[], gradient?: GradientRule): OpDefinition {
  return {
    opType,
    inferOutputs(context) {
      const dtype = requireSameDtype(context, [0, 1]);
      requireDtypes(context, allowed);
      return single(dtype, broadcastOrThrow(context, [0, 1]));
    },
    gradient,
  };
}

function comparison(opType: string, allowed: readonly DataType[]): OpDefinition {
  return {
    opType,
    inferOutputs(context) {
      requireSameDtype(context, [0, 1]);
      requireDtypes(context, allowed);
      return single('bool', broadcastOrThrow(context, [0, 1]));
    },
  };
}

function unary(opType: string, allowed: readonly DataType[], gradient?: GradientRule): OpDefinition {
  return {
    opType,
    inferOutputs(context) {
      requireDtypes(context, allowed);
      const input = requireInput(context, 0);
      return single(input.dtype, input.shape);
    },
    gradient,
  };
}

const io = (context: GradientContext) => ({
  x: context.node.inputs[0]!,
  y: context.node.outputs[0]!,
  dy: context.outputGradients[0]!,
});

export const addDefinition = binary('Add', numericTypes, ({ node, outputGradients, needsGradient }) => [
  needsGradient[0] ? unbroadcast(outputGradients[0]!, node.inputs[0]!) : undefined,
  needsGradient[1] ? unbroadcast(outputGradients[0]!, node.inputs[1]!) : undefined,
]);
export const subDefinition = binary('Sub', numericTypes, ({ node, outputGradients, needsGradient }) => [
  needsGradient[0] ? unbroadcast(outputGradients[0]!, node.inputs[0]!) : undefined,
  needsGradient[1] ? unbroadcast(neg(outputGradients[0]!), node.inputs[1]!) : undefined,
]);
export const mulDefinition = binary('Mul', numericTypes, ({ node, outputGradients, needsGradient }) => {
  const [a, b] = node.inputs as [SymbolicTensor, SymbolicTensor];
  const dy = outputGradients[0]!;
  return [
    needsGradient[0] ? unbroadcast(mul(dy, b), a) : undefined,
    needsGradient[1] ? unbroadcast(mul(dy, a), b) : undefined,
  ];
});
export const divDefinition = binary('Div', numericTypes, ({ node, outputGradients, needsGradient }) => {
  const [a, b] = node.inputs as [SymbolicTensor, SymbolicTensor];
  const dy = outputGradients[0]!;
  const y = node.outputs[0]!;
  return [
    needsGradient[0] ? unbroadcast(div(dy, b), a) : undefined,
    needsGradient[1] ? unbroadcast(neg(div(mul(dy, y), b)), b) : undefined,
  ];
});
export const powDefinition = binary('Pow', floatTypes, ({ node, outputGradients, needsGradient }) => {
  const [a, b] = node.inputs as [SymbolicTensor, SymbolicTensor];
  const dy = outputGradients[0]!;
  const y = node.outputs[0]!;
  return [
    needsGradient[0] ? unbroadcast(mul(dy, mul(b, pow(a, sub(b, 1)))), a) : undefined,
    needsGradient[1] ? unbroadcast(mul(dy, mul(y, log(a))), b) : undefined,
  ];
});
export const minDefinition = binary('Min', numericTypes, ({ node, outputGradients, needsGradient }) => {
  const [a, b] = node.inputs as [SymbolicTensor, SymbolicTensor];
  const dy = outputGradients[0]!;
  const takeA = lessOrEqual(a, b);
  return [
    needsGradient[0] ? unbroadcast(where(takeA, dy, 0), a) : undefined,
    needsGradient[1] ? unbroadcast(where(takeA, 0, dy), b) : undefined,
  ];
});
export const maxDefinition = binary('Max', numericTypes, ({ node, outputGradients, needsGradient }) => {
  const [a, b] = node.inputs as [SymbolicTensor, SymbolicTensor];
  const dy = outputGradients[0]!;
  const takeA = greaterOrEqual(a, b);
  return [
    needsGradient[0] ? unbroadcast(where(takeA, dy, 0), a) : undefined,
    needsGradient[1] ? unbroadcast(where(takeA, 0, dy), b) : undefined,
  ];
});

export const equalDefinition = comparison('Equal', [...numericTypes, 'bool']);
export const lessDefinition = comparison('Less', numericTypes);
export const lessOrEqualDefinition = comparison('LessOrEqual', numericTypes);
export const greaterDefinition = comparison('Greater', numericTypes);
export const greaterOrEqualDefinition = comparison('GreaterOrEqual', numericTypes);
export const andDefinition = comparison('And', ['bool']);
export const orDefinition = comparison('Or', ['bool']);
export const notDefinition = unary('Not', ['bool']);

export const negDefinition = unary('Neg', numericTypes, (context) => [neg(io(context).dy)]);
export const absDefinition = unary('Abs', numericTypes, (context) => {
  const { x, dy } = io(context);
  return [mul(dy, sign(x))];
});
export const signDefinition = unary('Sign', numericTypes);
export const sqrtDefinition = unary('Sqrt', floatTypes, (context) => {
  const { y, dy } = io(context);
  return [div(mul(dy, 0.5), y)];
});
export const expDefinition = unary('Exp', floatTypes, (context) => {
  const { y, dy } = io(context);
  return [mul(dy, y)];
});
export const logDefinition = unary('Log', floatTypes, (context) => {
  const { x, dy } = io(context);
  return [div(dy, x)];
});
export const tanhDefinition = unary('Tanh', floatTypes, (context) => {
  const { y, dy } = io(context);
  return [mul(dy, sub(1, mul(y, y)))];
});
export const sigmoidDefinition = unary('Sigmoid', floatTypes, (context) => {
  const { y, dy } = io(context);
  return [mul(dy, mul(y, sub(1, y)))];
});
export const erfDefinition = unary('Erf', floatTypes, (context) => {
  const { x, dy } = io(context);
  return [mul(dy, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))];
});
export const reluDefinition = unary('Relu', floatTypes, (context) => {
  const { x, dy } = io(context);
  return [where(greater(x, 0), dy, 0)];
});
export const identityDefinition = unary('Identity', [...numericTypes, 'bool'], (context) => [io(context).dy]);

export const whereDefinition: OpDefinition = {
  opType: 'Where',
  inferOutputs(context) {
    requireDtypes(context, ['bool'], [0]);
    const dtype = requireSameDtype(context, [1, 2]);
    return single(dtype, broadcastOrThrow(context, [0, 1, 2]));
  },
  gradient({ node, outputGradients, needsGradient }) {
    const [condition, a, b] = node.inputs as [SymbolicTensor, SymbolicTensor, SymbolicTensor];
    const dy = outputGradients[0]!;
    return [
      undefined,
      needsGradient[1] ? unbroadcast(where(condition, dy, 0), a) : undefined,
      needsGradient[2] ? unbroadcast(where(condition, 0, dy), b) : undefined,
    ];
  },
};

export const castDefinition: OpDefinition = {
  opType: 'Cast',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    return single(dtypeFromCode(readInt(context.attributes, 'to', 1)), input.shape);
  },
  gradient({ node, outputGradients }) {
    const input = node.inputs[0]!;
    const dy = outputGradients[0]!;
    return [floatTypes.includes(input.dtype) ? cast(dy, input.dtype) : undefined];
  },
};

export const clipDefinition: OpDefinition = {
  opType: 'Clip',
  inferOutputs(context) {
    const input = requireInput(context, 0);
    requireDtypes(context, numericTypes);
    for (const index of [1, 2]) {
      const bound = context.inputs[index];
      if (bound && bound.dtype !== input.dtype) requireSameDtype(context, [0, index]);
    }
    return single(input.dtype, input.shape);
  },
  gradient({ node, outputGradients }) {
    const [x, low, high] = node.inputs;
    let inside: SymbolicTensor | undefined;
    if (low) inside = greaterOrEqual(x!, low);
    if (high) inside = inside ? and(inside, lessOrEqual(x!, high)) : lessOrEqual(x!, high);
    const dy = outputGradients[0]!;
    return [inside ? where(inside, dy, 0) : dy, undefined, undefined];
  },
};

const dataTypeCodes: Record<DataType, number> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};

function dtypeFromCode(code: number): DataType {
  const entry = Object.entries(dataTypeCodes).find(([, value]) => value === code);
  return (entry?.[0] ?? 'float32') as DataType;
}

/** Elementwise a + b with numpy broadcasting. */
export function add(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(addDefinition, toTensors('Add', [a, b]));
}
export function sub(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(subDefinition, toTensors('Sub', [a, b]));
}
export function mul(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(mulDefinition, toTensors('Mul', [a, b]));
}
export function div(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(divDefinition, toTensors('Div', [a, b]));
}
export function pow(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(powDefinition, toTensors('Pow', [a, b]));
}
/** Elementwise minimum of two tensors (ties send the gradient to `a`). */
export function min(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(minDefinition, toTensors('Min', [a, b]));
}
/** Elementwise maximum of two tensors (ties send the gradient to `a`). */
export function max(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(maxDefinition, toTensors('Max', [a, b]));
}
export function equal(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(equalDefinition, toTensors('Equal', [a, b]));
}
export function less(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(lessDefinition, toTensors('Less', [a, b]));
}
export function lessOrEqual(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(lessOrEqualDefinition, toTensors('LessOrEqual', [a, b]));
}
export function greater(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(greaterDefinition, toTensors('Greater', [a, b]));
}
export function greaterOrEqual(a: TensorLike, b: TensorLike): SymbolicTensor {
  return applyOp1(greaterOrEqualDefinition, toTensors('GreaterOrEqual', [a, b]));
}
export function and(a: SymbolicTensor, b: SymbolicTensor): SymbolicTensor {
  return applyOp1(andDefinition, [a, b]);
}
export function or(a: SymbolicTensor, b: SymbolicTensor): SymbolicTensor {
  return applyOp1(orDefinition, [a, b]);
}
export function not(a: SymbolicTensor): SymbolicTensor {
  return applyOp1(notDefinition, [a]);
}
export function neg(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(negDefinition, [x]);
}
export function abs(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(absDefinition, [x]);
}
export function sign(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(signDefinition, [x]);
}
export function sqrt(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(sqrtDefinition, [x]);
}
export function exp(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(expDefinition, [x]);
}
export function log(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(logDefinition, [x]);
}
export function tanh(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(tanhDefinition, [x]);
}
export function sigmoid(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(sigmoidDefinition, [x]);
}
export function erf(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(erfDefinition, [x]);
}
export function relu(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(reluDefinition, [x]);
}
export function identity(x: SymbolicTensor): SymbolicTensor {
  return applyOp1(identityDefinition, [x]);
}
/** `condition ? a : b` elementwise, with broadcasting. */
export function where(condition: SymbolicTensor, a: TensorLike, b: TensorLike): SymbolicTensor {
  const [left, right] = toTensors('Where', [a, b]);
  return applyOp1(whereDefinition, [condition, left, right]);
}
export function cast(x: SymbolicTensor, dtype: DataType): SymbolicTensor {
  if (x.dtype === dtype) return x;
  return applyOp1(castDefinition, [x], { to: intAttribute(dataTypeCodes[dtype]) });
}
/** Clamps to [low, high]; either bound may be omitted. Bounds are treated as constants by `grad`. */
export function clip(x: SymbolicTensor, bounds: { low?: TensorLike; high?: TensorLike }): SymbolicTensor {
  const scalar = (value: TensorLike | undefined) =>
    value === undefined
      ? undefined
      : typeof value === 'number'
        ? x.graph.constant(value, { dtype: x.dtype, shape: [] })
        : value;
  return applyOp1(clipDefinition, [x, scalar(bounds.low), scalar(bounds.high)]);
}

/** GELU: exact (Erf) or the tanh approximation. Composed of primitive ops, which ORT fuses into one kernel. */
export function gelu(x: SymbolicTensor, approximation: 'erf' | 'tanh' = 'erf'): SymbolicTensor {
  if (approximation === 'erf') return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
  const inner = mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}
