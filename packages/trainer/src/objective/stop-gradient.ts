import type { OpDefinition, SymbolicTensor } from '@arpo/tensor';

/** ONNX Identity whose gradient is zero: the value flows forward, nothing flows back (a "detach"). */
const stopGradientDefinition: OpDefinition = {
  opType: 'Identity',
  inferOutputs(context) {
    const input = context.inputs[0] as SymbolicTensor;
    return [{ dtype: input.dtype, shape: input.shape }];
  },
  gradient: () => [undefined],
};

export function stopGradient(x: SymbolicTensor): SymbolicTensor {
  return x.graph.addNode({ definition: stopGradientDefinition, inputs: [x] })[0] as SymbolicTensor;
}
