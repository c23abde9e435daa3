import { createRandom } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import type { TensorValue } from '../runtime/compiled-graph.js';
import { DecoderTransformer } from './decoder-transformer.js';
import { buildTrainingGraph, compileGraph } from './language-model-graphs.js';

// Same weights and batch must give bit-identical gradients on every run, also with onnxruntime's intra-op threads:
// the embedding's gradient used to be a ScatterND add that summed repeated token ids in a thread-dependent order.
describe('training step determinism', () => {
  it('gives bit-identical gradients on repeated runs with 2 intra-op threads', async () => {
    const model = new DecoderTransformer({
      vocabSize: 272,
      contextLength: 128,
      modelDim: 128,
      layers: 1,
      heads: 4,
    });
    const parameters = model.initializeParameters({ seed: 1 });
    const random = createRandom({ seed: 2 });
    const batch = 16;
    const seq = 128;
    // A small alphabet, so every batch repeats token ids many times (as text does).
    const tokenIds = Int32Array.from({ length: batch * seq }, () => random.integer(40));
    const feeds: Record<string, TensorValue> = {
      ...Object.fromEntries(parameters),
      input_ids: { data: tokenIds, shape: [batch, seq] },
      target_ids: { data: tokenIds.map((id) => (id + 1) % 272), shape: [batch, seq] },
      loss_mask: { data: new Float32Array(batch * seq).fill(1), shape: [batch, seq] },
    };
    const compiled = await compileGraph(buildTrainingGraph(model), { threads: 2 });
    const first = await compiled.run(feeds);
    const embedding = Object.keys(first).find((name) => name.startsWith('grad.') && name.includes('embed'));
    expect(embedding).toBeDefined();
    for (let run = 0; run < 4; run++) {
      const again = await compiled.run(feeds);
      const differing: string[] = [];
      for (const [name, value] of Object.entries(first)) {
        const expected = value!.data as Float32Array;
        const actual = again[name]!.data as Float32Array;
        if (!Buffer.from(actual.buffer).equals(Buffer.from(expected.buffer))) differing.push(name);
      }
      expect(differing).toEqual([]);
    }
  }, 60_000);
});
