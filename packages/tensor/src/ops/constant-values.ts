import type { Graph, SymbolicTensor } from '../graph/graph.js';

/** An int64 1-D constant, the form ONNX wants for axes, shapes, starts and ends. */
export function int64Constant(graph: Graph, values: readonly number[]): SymbolicTensor {
  return graph.constant(
    BigInt64Array.from(values, (value) => BigInt(value)),
    {
      dtype: 'int64',
      shape: [values.length],
    },
  );
}

/** The values of a constant integer tensor, or undefined when the tensor is computed at run time. */
export function constantInts(tensor: SymbolicTensor | undefined): number[] | undefined {
  const value = tensor?.constantValue;
  if (!value) return undefined;
  return Array.from(value as ArrayLike<number | bigint>, (element) => Number(element));
}
