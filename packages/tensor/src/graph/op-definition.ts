import type { Attributes } from './attribute.js';
import type { DataType } from './dtype.js';
import type { GraphNode, SymbolicTensor } from './graph.js';
import type { Shape } from './shape.js';

export interface OutputSpec {
  readonly dtype: DataType;
  readonly shape: Shape;
}

export interface InferContext {
  readonly opType: string;
  /** Inputs in ONNX order; undefined marks an omitted optional input. */
  readonly inputs: readonly (SymbolicTensor | undefined)[];
  readonly attributes: Attributes;
  /** Output shapes the caller declared, for ops whose output shape depends on run-time values. */
  readonly declaredShapes: readonly (Shape | undefined)[] | undefined;
}

export interface GradientContext {
  readonly node: GraphNode;
  /** Gradient of the loss with respect to each output; undefined when no gradient reaches that output. */
  readonly outputGradients: readonly (SymbolicTensor | undefined)[];
  /** Which inputs need a gradient; rules may skip the others. */
  readonly needsGradient: readonly boolean[];
}

/**
 * What the graph builder knows about one op type: how to infer output dtypes and shapes while the graph is
 * built, and (for differentiable ops) how to build the gradient subgraph.
 */
export interface OpDefinition {
  readonly opType: string;
  /** ONNX domain; '' is the default ai.onnx domain. */
  readonly domain?: string;
  inferOutputs(context: InferContext): OutputSpec[];
  /** Gradients with respect to the inputs (undefined where none flows). Absent for non-differentiable ops. */
  gradient?(context: GradientContext): (SymbolicTensor | undefined)[];
}
