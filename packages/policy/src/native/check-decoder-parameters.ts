import { InvalidArgumentError } from '@arpo/core';
import type { DecoderTransformer, TensorValue } from '@arpo/tensor';

/**
 * Checks that `parameters` holds every parameter of `model` with the model's float type and the right number
 * of values; `InvalidArgumentError` naming the first parameter that is missing or malformed.
 */
export function checkDecoderParameters(
  model: DecoderTransformer,
  parameters: ReadonlyMap<string, TensorValue>,
  argument = 'parameters',
): void {
  const arrayType = model.config.dtype === 'float64' ? Float64Array : Float32Array;
  for (const spec of model.parameterSpecs()) {
    const value = parameters.get(spec.name);
    const size = spec.shape.reduce((product, dim) => product * dim, 1);
    let problem: string | undefined;
    if (value === undefined) problem = 'is missing';
    else if (!(value.data instanceof arrayType)) problem = `is not a ${arrayType.name}`;
    else if (value.data.length !== size) problem = `has ${value.data.length} values, expected ${size}`;
    if (problem !== undefined) {
      throw new InvalidArgumentError({ argument, message: `parameter '${spec.name}' ${problem}` });
    }
  }
}
