import * as ort from 'onnxruntime-node';
import { describe, expect, it, vi } from 'vitest';
import { grad } from '../autodiff/grad.js';
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

  it('reuses one compiled session across training steps: parameters are inputs, nothing is re-created', async () => {
    const graph = new Graph({ name: 'regression' });
    const x = graph.input('x', 'float32', ['batch', 2]);
    const w = graph.parameter('w', [2, 1]);
    const loss = ops.reduceSum(ops.mul(ops.matmul(x, w), ops.matmul(x, w)), { keepDims: false });
    const [gradient] = grad(loss, [w]);
    const creations = vi.spyOn(ort.InferenceSession, 'create');
    try {
      const compiled = await CompiledGraph.create(graph, {
        outputs: { loss, gradient: gradient! },
        threads: 1,
      });
      expect(creations).toHaveBeenCalledTimes(1);
      const weights = Float32Array.from([1, -1]);
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        const rows = step + 1;
        const data = Float32Array.from({ length: rows * 2 }, (_, index) => (index % 2 === 0 ? 1 : 0.5));
        const outputs = await compiled.run({
          x: { data, shape: [rows, 2] },
          w: { data: weights, shape: [2, 1] },
        });
        losses.push(Number(outputs.loss!.data[0]));
        const update = outputs.gradient!.data as Float32Array;
        for (let index = 0; index < 2; index++) weights[index] = weights[index]! - 0.1 * update[index]!;
      }
      // New weights and new batch sizes every step, still the session made by create().
      expect(creations).toHaveBeenCalledTimes(1);
      expect(new Set(losses).size).toBe(4);
      await compiled.dispose();

      const specialised = await CompiledGraph.create(graph, { outputs: { loss }, specializeShapes: true });
      const feed = (rows: number) => ({
        x: { data: new Float32Array(rows * 2).fill(1), shape: [rows, 2] },
        w: { data: weights, shape: [2, 1] },
      });
      for (const rows of [2, 3, 2, 3, 2]) await specialised.run(feed(rows));
      // One session per binding of 'batch' (2 and 3), each made once.
      expect(creations).toHaveBeenCalledTimes(3);
      await specialised.dispose();
    } finally {
      creations.mockRestore();
    }
  });
});
