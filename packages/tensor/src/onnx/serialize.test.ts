import { describe, expect, it } from 'vitest';
import { Graph } from '../graph/graph.js';
import * as ops from '../ops/index.js';
import { onnxModelType } from './onnx-schema.js';
import { onnxOpsetVersion, serializeGraph } from './serialize.js';

describe('serializeGraph', () => {
  it('writes an ONNX model with only the nodes and inputs the outputs need', () => {
    const graph = new Graph({ name: 'pruned' });
    const x = graph.input('x', 'float32', ['batch', 4]);
    const unused = graph.input('unused', 'float32', [1]);
    const w = graph.parameter('w', [4, 2]);
    const y = ops.matmul(x, w);
    ops.add(unused, 1);
    const { bytes, inputs, nodeCount } = serializeGraph(graph, {
      outputs: { y, also: y },
      bindings: { batch: 3 },
    });
    expect(inputs.map((input) => input.name)).toEqual(['x', 'w']);
    expect(nodeCount).toBe(1);
    const type = onnxModelType();
    const model = type.toObject(type.decode(bytes), { longs: Number }) as {
      opset_import: { domain: string; version: number }[];
      graph: {
        node: { op_type: string; output: string[] }[];
        input: {
          name: string;
          type: { tensor_type: { shape: { dim: { dim_value?: number; dim_param?: string }[] } } };
        }[];
        output: { name: string }[];
      };
    };
    expect(model.opset_import[0]).toEqual({ domain: '', version: onnxOpsetVersion });
    expect(model.graph.node.map((node) => node.op_type)).toEqual(['MatMul', 'Identity']);
    expect(model.graph.node[0]!.output).toEqual(['y']);
    expect(model.graph.output.map((output) => output.name)).toEqual(['y', 'also']);
    expect(model.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_value: 3 }, { dim_value: 4 }]);
  });
});
