import { createRandom } from '@arpo/core';
import { expect, it } from 'vitest';
import { grad } from '../src/autodiff/grad.js';
import type { DataType, TensorArray } from '../src/graph/dtype.js';
import { Graph, type SymbolicTensor } from '../src/graph/graph.js';
import * as ops from '../src/ops/index.js';
import { CompiledGraph, type TensorValue } from '../src/runtime/compiled-graph.js';

export interface CheckInput {
  shape: number[];
  /** Constant integer input (indices), not differentiated. */
  indices?: Int32Array | BigInt64Array;
  /** Constant boolean input (conditions), not differentiated. */
  condition?: Uint8Array;
  /** Draw values from [0.5, 2] instead of [-1, 1]. */
  positive?: boolean;
}

export interface CheckResult {
  maxError: number;
  checked: number;
  worst: string;
}

/**
 * Compares `grad` against central finite differences of sum(weights * build(...)) for every element of every
 * float input. Float64 by default, so the comparison is tight.
 */
export async function checkGradient(options: {
  build: (...inputs: SymbolicTensor[]) => SymbolicTensor;
  inputs: CheckInput[];
  dtype?: DataType;
  seed?: number;
  epsilon?: number;
  tolerance?: number;
}): Promise<CheckResult> {
  const dtype = options.dtype ?? 'float64';
  const random = createRandom({ seed: options.seed ?? 7 });
  const graph = new Graph({ name: 'gradient-check' });
  const feeds: Record<string, TensorValue> = {};
  const parameters: SymbolicTensor[] = [];
  const tensors = options.inputs.map((input, index) => {
    if (input.indices) {
      return graph.constant(input.indices, {
        dtype: input.indices instanceof Int32Array ? 'int32' : 'int64',
        shape: input.shape,
      });
    }
    if (input.condition) return graph.constant(input.condition, { dtype: 'bool', shape: input.shape });
    const parameter = graph.parameter(`input${index}`, input.shape, dtype);
    const size = input.shape.reduce((product, dim) => product * dim, 1);
    const data = dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
    for (let element = 0; element < size; element++) {
      data[element] = input.positive ? 0.5 + 1.5 * random.next() : 2 * random.next() - 1;
    }
    feeds[parameter.name] = { data, shape: input.shape };
    parameters.push(parameter);
    return parameter;
  });
  const output = options.build(...tensors);
  const outputShape = output.shape as number[];
  const outputSize = outputShape.reduce((product, dim) => product * dim, 1);
  const weightData = output.dtype === 'float64' ? new Float64Array(outputSize) : new Float32Array(outputSize);
  for (let element = 0; element < outputSize; element++) weightData[element] = 2 * random.next() - 1;
  const weights = graph.constant(weightData, { dtype: output.dtype, shape: outputShape });
  const loss = ops.reduceSum(ops.mul(output, weights), { keepDims: false });
  const gradients = grad(loss, parameters);
  const outputs: Record<string, SymbolicTensor> = {};
  gradients.forEach((gradient, index) => {
    outputs[`grad${index}`] = gradient;
  });
  const withGradients = await CompiledGraph.create(graph, { outputs: { loss, ...outputs } });
  const lossOnly = await CompiledGraph.create(graph, { outputs: { loss } });
  const analytic = await withGradients.run(feeds);
  const epsilon = options.epsilon ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const tolerance = options.tolerance ?? (dtype === 'float64' ? 1e-6 : 2e-2);
  let maxError = 0;
  let checked = 0;
  let worst = '';
  for (const [index, parameter] of parameters.entries()) {
    const data = feeds[parameter.name]!.data as Float64Array | Float32Array;
    const analyticGradient = analytic[`grad${index}`]!.data as TensorArray;
    for (let element = 0; element < data.length; element++) {
      const original = data[element]!;
      data[element] = original + epsilon;
      const plus = Number((await lossOnly.run(feeds)).loss!.data[0]);
      data[element] = original - epsilon;
      const minus = Number((await lossOnly.run(feeds)).loss!.data[0]);
      data[element] = original;
      const numeric = (plus - minus) / (2 * epsilon);
      const actual = Number(analyticGradient[element]);
      const error = Math.abs(actual - numeric) / Math.max(1, Math.abs(numeric));
      checked++;
      if (error > maxError) {
        maxError = error;
        worst = `${parameter.name}[${element}]: analytic ${actual}, numeric ${numeric}`;
      }
    }
  }
  await withGradients.dispose();
  await lossOnly.dispose();
  if (maxError > tolerance) throw new Error(`gradient mismatch ${maxError} > ${tolerance} at ${worst}`);
  return { maxError, checked, worst };
}

/** One named finite-difference check, as the gradient test files list them. */
export interface GradientCase {
  name: string;
  inputs: CheckInput[];
  build: (...inputs: SymbolicTensor[]) => SymbolicTensor;
  dtype?: 'float32' | 'float64';
  epsilon?: number;
  tolerance?: number;
  /** Seed of the input values and output weights (default 7). */
  seed?: number;
}

/** Registers one vitest test per case (call inside a `describe`). */
export function itChecksGradients(cases: readonly GradientCase[]): void {
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const result = await checkGradient(testCase);
      expect(result.checked).toBeGreaterThan(0);
    });
  }
}
