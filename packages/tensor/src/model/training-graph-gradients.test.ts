import { createRandom } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import type { TensorArray } from '../graph/dtype.js';
import { CompiledGraph, type TensorValue } from '../runtime/compiled-graph.js';
import { DecoderTransformer } from './decoder-transformer.js';
import { buildTrainingGraph, compileGraph } from './language-model-graphs.js';
import type { TransformerConfig } from './transformer-config.js';

// The training graph exactly as the trainer builds it (buildTrainingGraph: symbolic 'batch' and 'seq' bound
// when it runs, tied head, learned positions, default masked cross-entropy) checked against central finite
// differences of its own loss output, on a sample of parameter elements that covers every parameter tensor.

const base: TransformerConfig = { vocabSize: 11, contextLength: 8, modelDim: 8, layers: 2, heads: 2 };
const batch = 2;
// Shorter than contextLength, so the learned position rows past seq get (and must get) zero gradient.
const seq = 5;

interface ElementError {
  parameter: string;
  element: number;
  analytic: number;
  numeric: number;
  error: number;
}

async function checkTrainingGradients(options: {
  config: TransformerConfig;
  epsilon: number;
  /** Absolute floor of the error scale: |analytic - numeric| / max(floor, |numeric|). */
  floor: number;
  samples: number;
  seed: number;
}): Promise<{ worst: ElementError; checked: number; parameters: number; model: DecoderTransformer }> {
  const model = new DecoderTransformer(options.config);
  expect(model.config.tieEmbeddings).toBe(true);
  const random = createRandom({ seed: options.seed });
  const parameters = model.initializeParameters({ seed: options.seed });
  // Move off the initial point (zero biases, unit LayerNorm scales, near-uniform attention) so every term of
  // the gradient is non-trivial; the graph is the one training builds either way.
  for (const value of parameters.values()) {
    const data = value.data as Float32Array | Float64Array;
    for (let index = 0; index < data.length; index++) data[index] = data[index]! + 0.3 * random.normal();
  }
  const tokenIds = Int32Array.from({ length: batch * seq }, () => random.integer(base.vocabSize));
  const targetIds = Int32Array.from({ length: batch * seq }, () => random.integer(base.vocabSize));
  // Masked-out positions must contribute nothing; the count normalisation sees only the kept ones.
  const mask = Float32Array.from({ length: batch * seq }, (_, index) => (index % 3 === 2 ? 0 : 1));
  const floatMask = model.config.dtype === 'float64' ? Float64Array.from(mask) : mask;
  const feeds: Record<string, TensorValue> = {
    ...Object.fromEntries(parameters),
    input_ids: { data: tokenIds, shape: [batch, seq] },
    target_ids: { data: targetIds, shape: [batch, seq] },
    loss_mask: { data: floatMask, shape: [batch, seq] },
  };
  const training = buildTrainingGraph(model);
  expect(training.graph.inputs.find((input) => input.name === 'input_ids')?.shape).toEqual(['batch', 'seq']);
  const withGradients = await compileGraph(training);
  const lossOnly = await CompiledGraph.create(training.graph, { outputs: { loss: training.loss } });
  const analytic = await withGradients.run(feeds);
  const lossAt = async () => Number((await lossOnly.run(feeds)).loss!.data[0]);
  expect(await lossAt()).toBeCloseTo(Number(analytic.loss!.data[0]), 10);

  // Every parameter tensor gets at least two sampled elements; the rest are drawn uniformly over all elements.
  const specs = model.parameterSpecs();
  const sampled: [string, number][] = [];
  for (const spec of specs) {
    const size = spec.shape.reduce((product, dim) => product * dim, 1);
    for (let draw = 0; draw < 2; draw++) sampled.push([spec.name, random.integer(size)]);
  }
  const total = model.parameterCount();
  while (sampled.length < options.samples) {
    let element = random.integer(total);
    for (const spec of specs) {
      const size = spec.shape.reduce((product, dim) => product * dim, 1);
      if (element < size) {
        sampled.push([spec.name, element]);
        break;
      }
      element -= size;
    }
  }
  let worst: ElementError = { parameter: '', element: -1, analytic: 0, numeric: 0, error: 0 };
  for (const [name, element] of sampled) {
    const data = parameters.get(name)!.data as Float32Array | Float64Array;
    const original = data[element]!;
    data[element] = original + options.epsilon;
    const plus = await lossAt();
    data[element] = original - options.epsilon;
    const minus = await lossAt();
    data[element] = original;
    const numeric = (plus - minus) / (2 * options.epsilon);
    const gradient = analytic[`grad.${name}`]!.data as TensorArray;
    const value = Number(gradient[element]);
    const error = Math.abs(value - numeric) / Math.max(options.floor, Math.abs(numeric));
    if (error > worst.error) worst = { parameter: name, element, analytic: value, numeric, error };
  }
  // Position rows past seq never enter the loss.
  const positionGradient = analytic['grad.position.weight']!.data as TensorArray;
  for (let index = seq * base.modelDim; index < positionGradient.length; index++)
    expect(Number(positionGradient[index])).toBe(0);
  await withGradients.dispose();
  await lossOnly.dispose();
  return { worst, checked: sampled.length, parameters: specs.length, model };
}

describe('the training graph as the trainer builds it matches finite differences', () => {
  it('float64, tied head, masked cross-entropy, symbolic dims (GELU-tanh: no float64 Erf kernel)', async () => {
    const result = await checkTrainingGradients({
      config: { ...base, dtype: 'float64', activation: 'gelu-tanh' },
      epsilon: 1e-6,
      floor: 1e-3,
      samples: 320,
      seed: 11,
    });
    expect(result.checked).toBe(320);
    expect(result.parameters).toBe(2 + 12 * 2 + 2);
    expect(result.worst.error, JSON.stringify(result.worst)).toBeLessThan(1e-6);
  });

  it('float32 with the default activation (GELU-erf), as trained', async () => {
    // onnxruntime-node's CPU provider has no float64 Erf ("Could not find an implementation for Erf(13)"), so the
    // default model is checked in float32. One float32 ulp of a loss near 2.5 (2.4e-7) is 1.2e-5 of gradient
    // after central differences with epsilon 1e-2, and truncation (epsilon² · f''' / 6) is of the same order;
    // the worst element measured here is off by 2.5e-5 (2.5e-3 of the 1e-2 floor). Errors are relative to
    // max(1e-2, |numeric|), so 2e-2 allows 2e-4 absolute on small gradients, while a missing or doubled term
    // (the tied head's gradients are 1e-2 to 1e-1) fails by far.
    const result = await checkTrainingGradients({
      config: base,
      epsilon: 1e-2,
      floor: 1e-2,
      samples: 320,
      seed: 12,
    });
    expect(result.model.config.activation).toBe('gelu-erf');
    expect(result.model.config.dtype).toBe('float32');
    expect(result.checked).toBe(320);
    expect(result.worst.error, JSON.stringify(result.worst)).toBeLessThan(2e-2);
  });
});
