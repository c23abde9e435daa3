import { describe, expect, it } from 'vitest';
import { Graph } from '../graph/graph.js';
import * as ops from '../ops/index.js';
import { CompiledGraph } from './compiled-graph.js';

function rowSums() {
  const graph = new Graph({ name: 'row-sums' });
  const x = graph.input('x', 'float32', ['rows', 'columns']);
  const flattened = ops.reshape(x, [-1]);
  return { graph, outputs: { sums: ops.reduceSum(x, { axes: [1], keepDims: false }), flattened } };
}

describe('CompiledGraph', () => {
  it('serves every shape from one session, or one specialised session per shape binding', async () => {
    for (const specializeShapes of [false, true]) {
      const { graph, outputs } = rowSums();
      const compiled = await CompiledGraph.create(graph, { outputs, specializeShapes, threads: 1 });
      const small = await compiled.run({ x: { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] } });
      expect(Array.from(small.sums!.data as Float32Array)).toEqual([3, 7]);
      const large = await compiled.run({ x: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 6] } });
      expect(Array.from(large.sums!.data as Float32Array)).toEqual([21]);
      expect(large.flattened!.shape).toEqual([6]);
      await compiled.dispose();
    }
  });

  it('writes outputs into preallocated arrays when given', async () => {
    const { graph, outputs } = rowSums();
    const compiled = await CompiledGraph.create(graph, { outputs });
    const sums = { data: new Float32Array(2), shape: [2] };
    const result = await compiled.run(
      { x: { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] } },
      { outputs: { sums } },
    );
    expect(result.sums).toBe(sums);
    expect(Array.from(sums.data)).toEqual([3, 7]);
    expect(Array.from(result.flattened!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(compiled.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['rows', 'columns'] }]);
    await compiled.dispose();
  });
});
