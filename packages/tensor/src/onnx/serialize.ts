import { InvalidArgumentError } from '@arpo/core';
import { TensorDtypeError } from '../errors/tensor-dtype-error.js';
import { TensorShapeError } from '../errors/tensor-shape-error.js';
import type { AttributeValue } from '../graph/attribute.js';
import { type DataType, dataTypeOfArray, onnxDataTypeCode, type TensorArray } from '../graph/dtype.js';
import type { Graph, GraphNode, SymbolicTensor } from '../graph/graph.js';
import type { Shape } from '../graph/shape.js';
import { onnxModelType } from './onnx-schema.js';

/** Opset of the default ONNX domain this package targets (Reduce* and Split take axes/sizes as inputs). */
export const onnxOpsetVersion = 18;
const irVersion = 8;

export interface SerializeOptions {
  /** Graph outputs by name. */
  outputs: Readonly<Record<string, SymbolicTensor>>;
  /** Values for named dims; bound dims are written as fixed sizes so onnxruntime can specialise. */
  bindings?: Readonly<Record<string, number>>;
  /**
   * Values for parameters of the graph, by name: each becomes an ONNX initializer (baked into the model)
   * instead of a graph input, e.g. to export a trained model that runs without its weights being fed.
   */
  initializers?: ReadonlyMap<string, { readonly data: TensorArray; readonly shape: readonly number[] }>;
}

export interface SerializedGraph {
  bytes: Uint8Array;
  /** Inputs the model needs (reachable from the outputs, not baked as initializers), in declaration order. */
  inputs: SymbolicTensor[];
  nodeCount: number;
}

function bytesOf(data: TensorArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function tensorProto(name: string, dtype: DataType, dims: readonly number[], data: TensorArray) {
  return { name, data_type: onnxDataTypeCode[dtype], dims: [...dims], raw_data: bytesOf(data) };
}

function valueInfo(name: string, dtype: DataType, shape: Shape, bindings: Readonly<Record<string, number>>) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: onnxDataTypeCode[dtype],
        shape: {
          dim: shape.map((dim) => {
            const bound = typeof dim === 'string' ? bindings[dim] : dim;
            return bound !== undefined ? { dim_value: bound } : { dim_param: String(dim) };
          }),
        },
      },
    },
  };
}

function attributeProto(name: string, attribute: AttributeValue) {
  switch (attribute.type) {
    case 'int':
      return { name, type: 2, i: attribute.value };
    case 'float':
      return { name, type: 1, f: attribute.value };
    case 'ints':
      return { name, type: 7, ints: [...attribute.value] };
    case 'floats':
      return { name, type: 6, floats: [...attribute.value] };
    case 'string':
      return { name, type: 3, s: new TextEncoder().encode(attribute.value) };
    case 'tensor': {
      const { dtype, data } = attribute.value;
      return { name, type: 4, t: tensorProto(name, dtype, [data.length], data) };
    }
  }
}

/** The nodes needed for `outputs`, in topological order. */
export function reachableNodes(graph: Graph, outputs: readonly SymbolicTensor[]): GraphNode[] {
  const needed = new Set<number>();
  const stack = outputs.map((output) => output.producer).filter((node) => node !== undefined);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (needed.has(node.id)) continue;
    needed.add(node.id);
    for (const input of node.inputs)
      if (input?.producer && !needed.has(input.producer.id)) stack.push(input.producer);
  }
  return graph.nodes.filter((node) => needed.has(node.id));
}

/** Serializes the part of `graph` that computes `outputs` to ONNX ModelProto bytes. */
export function serializeGraph(graph: Graph, options: SerializeOptions): SerializedGraph {
  const bindings = options.bindings ?? {};
  const outputEntries = Object.entries(options.outputs);
  const nodes = reachableNodes(
    graph,
    outputEntries.map(([, tensor]) => tensor),
  );
  // Output names replace the internal value names of the tensors they expose; a tensor exposed twice (or an
  // input/constant exposed directly) goes through an Identity node.
  const rename = new Map<SymbolicTensor, string>();
  const aliases: { tensor: SymbolicTensor; output: string }[] = [];
  for (const [name, tensor] of outputEntries) {
    if (tensor.kind === 'value' && !rename.has(tensor)) rename.set(tensor, name);
    else aliases.push({ tensor, output: name });
  }
  const nameOf = (tensor: SymbolicTensor) => rename.get(tensor) ?? tensor.name;
  // An alias reads the tensor under its final name (the first output's name when it was renamed).
  const identities = aliases.map(({ tensor, output }) => ({ input: nameOf(tensor), output }));

  const used = new Set<SymbolicTensor>();
  for (const node of nodes) for (const input of node.inputs) if (input) used.add(input);
  for (const [, tensor] of outputEntries) used.add(tensor);
  const baked = checkInitializers(graph, options.initializers);
  const inputs = graph.inputs.filter((input) => used.has(input) && !baked.has(input.name));
  const bakedInputs = graph.inputs.filter((input) => used.has(input) && baked.has(input.name));
  const constants = [...used].filter((tensor) => tensor.kind === 'constant');

  const model = {
    ir_version: irVersion,
    producer_name: '@arpo/tensor',
    opset_import: [
      { domain: '', version: onnxOpsetVersion },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name: graph.name,
      node: [
        ...nodes.map((node) => ({
          name: `${node.definition.opType}_${node.id}`,
          op_type: node.definition.opType,
          domain: node.definition.domain ?? '',
          input: node.inputs.map((input) => (input ? nameOf(input) : '')),
          output: node.outputs.map(nameOf),
          attribute: Object.entries(node.attributes).map(([name, attribute]) =>
            attributeProto(name, attribute),
          ),
        })),
        ...identities.map((identity, index) => ({
          name: `Identity_output_${index}`,
          op_type: 'Identity',
          input: [identity.input],
          output: [identity.output],
        })),
      ],
      initializer: [
        ...constants.map((tensor) =>
          tensorProto(tensor.name, tensor.dtype, tensor.shape as number[], tensor.constantValue!),
        ),
        ...bakedInputs.map((input) => {
          const value = baked.get(input.name)!;
          return tensorProto(input.name, input.dtype, value.shape, value.data);
        }),
      ],
      input: inputs.map((input) => valueInfo(input.name, input.dtype, input.shape, bindings)),
      output: outputEntries.map(([name, tensor]) => valueInfo(name, tensor.dtype, tensor.shape, bindings)),
    },
  };
  const type = onnxModelType();
  const bytes = type.encode(type.fromObject(model)).finish();
  return { bytes, inputs, nodeCount: nodes.length };
}

/** Checks that every initializer names a parameter of `graph` and matches its dtype and shape. */
function checkInitializers(
  graph: Graph,
  initializers: SerializeOptions['initializers'],
): ReadonlyMap<string, { readonly data: TensorArray; readonly shape: readonly number[] }> {
  if (initializers === undefined) return new Map();
  const parameters = new Map(graph.parameters.map((parameter) => [parameter.name, parameter]));
  for (const [name, value] of initializers) {
    const parameter = parameters.get(name);
    if (parameter === undefined) {
      throw new InvalidArgumentError({
        argument: 'initializers',
        message: `'${name}' is not a parameter of graph '${graph.name}'`,
      });
    }
    const where = `initializer '${name}' of graph '${graph.name}'`;
    const actual = dataTypeOfArray(value.data);
    if (actual !== parameter.dtype && !(actual === 'uint8' && parameter.dtype === 'bool')) {
      throw new TensorDtypeError({ op: where, detail: `expected ${parameter.dtype}`, dtypes: [actual] });
    }
    const mismatch = (detail: string) =>
      new TensorShapeError({ op: where, detail, shapes: [value.shape, parameter.shape] });
    if (value.shape.length !== parameter.shape.length) throw mismatch(`expected rank ${parameter.rank}`);
    parameter.shape.forEach((dim, axis) => {
      if (typeof dim === 'number' && dim !== value.shape[axis]) throw mismatch(`axis ${axis} must be ${dim}`);
    });
    const size = value.shape.reduce((product, dim) => product * dim, 1);
    if (value.data.length !== size) throw mismatch(`${value.data.length} values do not fill the shape`);
  }
  return initializers;
}
