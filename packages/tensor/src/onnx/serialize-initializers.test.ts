import { InvalidArgumentError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { TensorDtypeError } from '../errors/tensor-dtype-error.js';
import { TensorShapeError } from '../errors/tensor-shape-error.js';
import { Graph } from '../graph/graph.js';
import * as ops from '../ops/index.js';
import { CompiledGraph } from '../runtime/compiled-graph.js';
import { onnxModelType } from './onnx-schema.js';
import { serializeGraph } from './serialize.js';

function affine() {
  const graph = new Graph({ name: 'affine' });
  const x = graph.input('x', 'float32', ['batch', 2]);
  const w = graph.parameter('w', [2, 2]);
  const b = graph.parameter('b', [2]);
  return { graph, outputs: { y: ops.add(ops.matmul(x, w), b) } };
}

describe('serializeGraph initializers', () => {
  const w = { data: Float32Array.of(1, 2, 3, 4), shape: [2, 2] };

  it('bakes named parameters into the model as initializers instead of inputs', async () => {
    const { graph, outputs } = affine();
    const { bytes, inputs } = serializeGraph(graph, { outputs, initializers: new Map([['w', w]]) });
    expect(inputs.map((input) => input.name)).toEqual(['x', 'b']);
    const type = onnxModelType();
    const model = type.toObject(type.decode(bytes), { longs: Number }) as {
      graph: { input: { name: string }[]; initializer: { name: string; dims: number[] }[] };
    };
    expect(model.graph.input.map((input) => input.name)).toEqual(['x', 'b']);
    expect(model.graph.initializer.find((tensor) => tensor.name === 'w')?.dims).toEqual([2, 2]);

    const compiled = await CompiledGraph.create(graph, { outputs, initializers: new Map([['w', w]]) });
    expect(compiled.inputs.map((input) => input.name)).toEqual(['x', 'b']);
    const result = await compiled.run({
      x: { data: Float32Array.of(1, 1, 0, 1), shape: [2, 2] },
      b: { data: Float32Array.of(10, 20), shape: [2] },
    });
    expect(Array.from(result.y!.data as Float32Array)).toEqual([14, 26, 13, 24]);
    await compiled.dispose();
  });

  it('rejects unknown names, wrong dtypes and wrong shapes', () => {
    const { graph, outputs } = affine();
    const bake = (name: string, value: { data: Float32Array | Int32Array; shape: number[] }) => () =>
      serializeGraph(graph, { outputs, initializers: new Map([[name, value]]) });
    expect(bake('x', w)).toThrow(/'x' is not a parameter of graph 'affine'/);
    expect(bake('x', w)).toThrow(InvalidArgumentError);
    expect(bake('w', { data: Int32Array.of(1, 2, 3, 4), shape: [2, 2] })).toThrow(TensorDtypeError);
    expect(bake('w', { data: Float32Array.of(1, 2, 3, 4), shape: [4, 1] })).toThrow(TensorShapeError);
    expect(bake('w', { data: Float32Array.of(1, 2, 3), shape: [2, 2] })).toThrow(/do not fill the shape/);
  });
});
