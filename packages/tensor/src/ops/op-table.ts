import { UnknownOpError } from '../errors/unknown-op-error.js';
import type { Attributes } from '../graph/attribute.js';
import type { SymbolicTensor } from '../graph/graph.js';
import type { OpDefinition } from '../graph/op-definition.js';
import type { Shape } from '../graph/shape.js';
import { applyOp } from './apply.js';
import * as elementwise from './elementwise.js';
import * as linearAlgebra from './linear-algebra.js';
import * as nn from './nn.js';
import * as reduce from './reduce.js';
import * as shapeOps from './shape-ops.js';

function collect(...modules: Record<string, unknown>[]): Map<string, OpDefinition> {
  const table = new Map<string, OpDefinition>();
  for (const module of modules) {
    for (const [key, value] of Object.entries(module)) {
      if (key.endsWith('Definition')) {
        const definition = value as OpDefinition;
        table.set(definition.opType, definition);
      }
    }
  }
  return table;
}

let table: Map<string, OpDefinition> | undefined;

/** Every op type the builder knows (shape inference, and a gradient rule when differentiable). */
export function knownOps(): Map<string, OpDefinition> {
  table ??= collect(elementwise, linearAlgebra, nn, reduce, shapeOps);
  return table;
}

/**
 * Applies an op by its ONNX name, for ops without a dedicated function. Throws `UnknownOpError` for op types
 * the builder has no definition for.
 */
export function applyByName(
  opType: string,
  inputs: readonly (SymbolicTensor | undefined)[],
  attributes: Attributes = {},
  declaredShapes?: readonly (Shape | undefined)[],
): SymbolicTensor[] {
  const definition = knownOps().get(opType);
  if (!definition) throw new UnknownOpError({ op: opType, knownOps: [...knownOps().keys()].sort() });
  return applyOp(definition, inputs, attributes, declaredShapes);
}
