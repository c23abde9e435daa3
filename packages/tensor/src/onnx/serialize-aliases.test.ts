import { describe, expect, it } from 'vitest';
import { Graph } from '../graph/graph.js';
import * as ops from '../ops/index.js';
import { CompiledGraph } from '../runtime/compiled-graph.js';

describe('graph outputs', () => {
  it('can expose one value under several names, and an input directly', async () => {
    const graph = new Graph({ name: 'aliases' });
    const x = graph.input('x', 'float32', [2]);
    const doubled = ops.mul(x, 2);
    const compiled = await CompiledGraph.create(graph, {
      outputs: { first: doubled, second: doubled, echo: x },
    });
    const outputs = await compiled.run({ x: { data: Float32Array.of(1, 3), shape: [2] } });
    expect(Array.from(outputs.first!.data as Float32Array)).toEqual([2, 6]);
    expect(Array.from(outputs.second!.data as Float32Array)).toEqual([2, 6]);
    expect(Array.from(outputs.echo!.data as Float32Array)).toEqual([1, 3]);
    await compiled.dispose();
  });
});
