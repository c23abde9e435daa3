export { type GradOptions, grad } from './autodiff/grad.js';
export { GradientError } from './errors/gradient-error.js';
export { GraphExecutionError } from './errors/graph-execution-error.js';
export { MissingInputError } from './errors/missing-input-error.js';
export { OpInputError } from './errors/op-input-error.js';
export { SafetensorsFormatError } from './errors/safetensors-format-error.js';
export { TensorDtypeError } from './errors/tensor-dtype-error.js';
export { TensorShapeError } from './errors/tensor-shape-error.js';
export { UnknownOpError } from './errors/unknown-op-error.js';
export type { Attributes, AttributeValue } from './graph/attribute.js';
export type { DataType, TensorArray, TypedArrayOf } from './graph/dtype.js';
export {
  type ConstantOptions,
  Graph,
  type GraphNode,
  SymbolicTensor,
  type TensorKind,
} from './graph/graph.js';
export type { GradientContext, InferContext, OpDefinition, OutputSpec } from './graph/op-definition.js';
export type { Dim, Shape } from './graph/shape.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  type SafetensorsContent,
  writeSafetensors,
} from './io/safetensors.js';
export {
  DecoderTransformer,
  type ForwardInputs,
  type ForwardOutputs,
  type LayerCache,
  type ParameterSpec,
} from './model/decoder-transformer.js';
export {
  buildDecoderGraph,
  buildLogitsGraph,
  buildTrainingGraph,
  compileGraph,
  type LossBuilder,
  type LossContext,
  maskedCrossEntropy,
  type TrainingGraph,
} from './model/language-model-graphs.js';
export {
  type ResolvedTransformerConfig,
  resolveTransformerConfig,
  type TransformerConfig,
  transformerConfigSchema,
} from './model/transformer-config.js';
export { onnxOpsetVersion, serializeGraph } from './onnx/serialize.js';
export * as ops from './ops/index.js';
export { AdamW, type AdamWOptions, type AdamWState, type AdamWStepResult } from './optim/adamw.js';
export { clipByGlobalNorm, globalNorm } from './optim/clip-gradients.js';
export { type LearningRateSchedule, learningRateAt } from './optim/learning-rate-schedule.js';
export {
  CompiledGraph,
  type CompileOptions,
  type GraphInputSpec,
  type TensorValue,
} from './runtime/compiled-graph.js';
