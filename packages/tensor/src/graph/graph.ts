import { InvalidArgumentError } from '@arpo/core';
import { TensorDtypeError } from '../errors/tensor-dtype-error.js';
import { TensorShapeError } from '../errors/tensor-shape-error.js';
import type { Attributes } from './attribute.js';
import { createTypedArray, type DataType, type TensorArray } from './dtype.js';
import type { OpDefinition } from './op-definition.js';
import { type Dim, type Shape, shapeSize } from './shape.js';

/** Where a symbolic tensor comes from. */
export type TensorKind = 'input' | 'parameter' | 'constant' | 'value';

/**
 * A tensor in a graph under construction: a name, an element type and a shape (dims may be names bound at
 * run time). Build new tensors with the op functions in `ops`; they check dtypes and shapes immediately.
 */
export class SymbolicTensor {
  constructor(
    readonly graph: Graph,
    /** Value name in the ONNX graph (the feed name for inputs and parameters). */
    readonly name: string,
    readonly dtype: DataType,
    readonly shape: Shape,
    readonly kind: TensorKind,
    /** The node that computes this tensor ('value' kind only). */
    readonly producer?: GraphNode,
    /** The value of a 'constant' tensor. */
    readonly constantValue?: TensorArray,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}[${this.shape.join(', ')}]`;
  }
}

/** One op application. Node ids increase in creation order, which is a topological order. */
export interface GraphNode {
  readonly id: number;
  readonly definition: OpDefinition;
  readonly inputs: readonly (SymbolicTensor | undefined)[];
  readonly attributes: Attributes;
  readonly outputs: readonly SymbolicTensor[];
}

export interface ConstantOptions {
  dtype?: DataType;
  shape?: readonly number[];
}

/**
 * A graph under construction. Inputs and parameters become ONNX graph inputs (parameters are inputs that
 * `grad` and trainers treat as trainable), constants become initializers.
 */
export class Graph {
  readonly name: string;
  private readonly nodeList: GraphNode[] = [];
  private readonly inputList: SymbolicTensor[] = [];
  private readonly parameterList: SymbolicTensor[] = [];
  private readonly usedNames = new Set<string>();
  private readonly constantCache = new Map<string, SymbolicTensor>();
  private readonly shapeCache = new Map<SymbolicTensor, SymbolicTensor>();
  private valueCounter = 0;

  constructor(options: { name?: string } = {}) {
    this.name = options.name ?? 'graph';
  }

  get nodes(): readonly GraphNode[] {
    return this.nodeList;
  }

  /** Inputs and parameters, in declaration order. */
  get inputs(): readonly SymbolicTensor[] {
    return this.inputList;
  }

  get parameters(): readonly SymbolicTensor[] {
    return this.parameterList;
  }

  /** Declares a run-time input (token ids, masks, advantages, ...). */
  input(name: string, dtype: DataType, shape: Shape): SymbolicTensor {
    return this.declareInput(name, dtype, shape, 'input');
  }

  /** Declares a trainable parameter: a graph input so one compiled session serves every training step. */
  parameter(name: string, shape: Shape, dtype: DataType = 'float32'): SymbolicTensor {
    const tensor = this.declareInput(name, dtype, shape, 'parameter');
    this.parameterList.push(tensor);
    return tensor;
  }

  /** A constant (ONNX initializer). Numbers become float32 scalars unless `dtype` says otherwise. */
  constant(value: TensorArray | number | readonly number[], options: ConstantOptions = {}): SymbolicTensor {
    const dtype = options.dtype ?? inferConstantType(value);
    const data = toTypedArray(value, dtype);
    const shape = options.shape ?? (typeof value === 'number' ? [] : [data.length]);
    if (shapeSize(shape) !== data.length) {
      throw new TensorShapeError({
        op: 'constant',
        detail: `${data.length} values do not fill the shape`,
        shapes: [shape],
      });
    }
    const key =
      data.length <= 16
        ? `${dtype}|${shape.join(',')}|${Array.from(data as ArrayLike<unknown>).join(',')}`
        : undefined;
    const cached = key === undefined ? undefined : this.constantCache.get(key);
    if (cached) return cached;
    const tensor = new SymbolicTensor(
      this,
      this.uniqueName('const'),
      dtype,
      shape,
      'constant',
      undefined,
      data,
    );
    if (key !== undefined) this.constantCache.set(key, tensor);
    return tensor;
  }

  /** Low level: appends a node for `definition` after inferring its outputs. Use the `ops` functions instead. */
  addNode(options: {
    definition: OpDefinition;
    inputs: readonly (SymbolicTensor | undefined)[];
    attributes?: Attributes;
    declaredShapes?: readonly (Shape | undefined)[];
  }): SymbolicTensor[] {
    const attributes = options.attributes ?? {};
    for (const input of options.inputs) {
      if (input && input.graph !== this) {
        throw new InvalidArgumentError({
          argument: input.name,
          message: `${options.definition.opType}: tensor belongs to graph '${input.graph.name}', not '${this.name}'`,
        });
      }
    }
    const specs = options.definition.inferOutputs({
      opType: options.definition.opType,
      inputs: options.inputs,
      attributes,
      declaredShapes: options.declaredShapes,
    });
    const id = this.nodeList.length;
    const outputs: SymbolicTensor[] = [];
    const node: GraphNode = {
      id,
      definition: options.definition,
      inputs: options.inputs,
      attributes,
      outputs,
    };
    for (const spec of specs) {
      outputs.push(new SymbolicTensor(this, this.uniqueName('v'), spec.dtype, spec.shape, 'value', node));
    }
    this.nodeList.push(node);
    return outputs;
  }

  /** Memo for `Shape(tensor)` nodes, so gradients of many ops share one. */
  cachedShapeOf(tensor: SymbolicTensor, build: () => SymbolicTensor): SymbolicTensor {
    let shape = this.shapeCache.get(tensor);
    if (!shape) {
      shape = build();
      this.shapeCache.set(tensor, shape);
    }
    return shape;
  }

  private declareInput(name: string, dtype: DataType, shape: Shape, kind: TensorKind): SymbolicTensor {
    if (this.usedNames.has(name) || /^(v|const)\d+$/.test(name)) {
      throw new InvalidArgumentError({
        argument: 'name',
        message: `graph '${this.name}' already has a value '${name}'`,
      });
    }
    for (const dim of shape) checkDim(dim, name, shape);
    this.usedNames.add(name);
    const tensor = new SymbolicTensor(this, name, dtype, shape, kind);
    this.inputList.push(tensor);
    return tensor;
  }

  private uniqueName(prefix: string): string {
    const name = `${prefix}${this.valueCounter++}`;
    this.usedNames.add(name);
    return name;
  }
}

function checkDim(dim: Dim, name: string, shape: Shape): void {
  if (typeof dim === 'number' ? !Number.isInteger(dim) || dim < 0 : dim.length === 0) {
    throw new TensorShapeError({
      op: `input '${name}'`,
      detail: `invalid dimension '${dim}'`,
      shapes: [shape],
    });
  }
}

function inferConstantType(value: TensorArray | number | readonly number[]): DataType {
  if (value instanceof Float64Array) return 'float64';
  if (value instanceof Int32Array) return 'int32';
  if (value instanceof BigInt64Array) return 'int64';
  if (value instanceof Uint8Array) return 'uint8';
  return 'float32';
}

function toTypedArray(value: TensorArray | number | readonly number[], dtype: DataType): TensorArray {
  if (ArrayBuffer.isView(value)) {
    const actual = inferConstantType(value);
    if (actual !== dtype && !(actual === 'uint8' && dtype === 'bool')) {
      throw new TensorDtypeError({
        op: 'constant',
        detail: 'typed array does not match dtype',
        dtypes: [actual, dtype],
      });
    }
    return value;
  }
  const values = typeof value === 'number' ? [value] : value;
  const data = createTypedArray(dtype, values.length);
  for (let index = 0; index < values.length; index++) {
    if (data instanceof BigInt64Array) data[index] = BigInt(Math.trunc(values[index]!));
    else data[index] = values[index]!;
  }
  return data;
}
