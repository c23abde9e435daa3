import { GradientError } from '../errors/gradient-error.js';
import { isFloatType } from '../graph/dtype.js';
import type { SymbolicTensor } from '../graph/graph.js';
import { add } from '../ops/elementwise.js';
import { fullLike, zerosLike } from '../ops/shape-ops.js';

export interface GradOptions {
  /** Gradient flowing into `loss` (its shape); defaults to ones, so a scalar loss needs nothing. */
  outputGradient?: SymbolicTensor;
}

/**
 * Reverse-mode autodiff: appends the gradient subgraph of `loss` with respect to each of `wrt` to the graph
 * and returns the gradient tensors (same shapes as `wrt`; zeros for tensors the loss does not depend on).
 *
 * Integer and boolean tensors are constants to the gradient; contributions from several consumers of a tensor
 * are summed; broadcasting is undone by summing over the broadcast axes.
 */
export function grad(
  loss: SymbolicTensor,
  wrt: readonly SymbolicTensor[],
  options: GradOptions = {},
): SymbolicTensor[] {
  const graph = loss.graph;
  for (const tensor of wrt) {
    if (tensor.graph !== graph) {
      throw new GradientError({ op: 'grad', detail: `'${tensor.name}' belongs to another graph` });
    }
    if (!isFloatType(tensor.dtype)) {
      throw new GradientError({
        op: 'grad',
        detail: `'${tensor.name}' has dtype ${tensor.dtype}; only floats have gradients`,
      });
    }
  }
  if (!isFloatType(loss.dtype))
    throw new GradientError({ op: 'grad', detail: `loss has dtype ${loss.dtype}` });
  if (!options.outputGradient && loss.rank !== 0 && loss.shape.some((dim) => dim !== 1)) {
    throw new GradientError({
      op: 'grad',
      detail: `loss must be a scalar (shape [${loss.shape.join(', ')}]) unless outputGradient is given`,
    });
  }

  // Forward sweep (node ids are topological): which tensors depend on any of `wrt`.
  const active = new Set<SymbolicTensor>(wrt);
  for (const node of graph.nodes) {
    if (node.id > (loss.producer?.id ?? -1)) break;
    if (node.inputs.some((input) => input !== undefined && active.has(input))) {
      for (const output of node.outputs) if (isFloatType(output.dtype)) active.add(output);
    }
  }

  const contributions = new Map<SymbolicTensor, SymbolicTensor[]>();
  const contribute = (tensor: SymbolicTensor, gradient: SymbolicTensor) => {
    if (gradient.rank !== tensor.rank || gradient.dtype !== tensor.dtype) {
      throw new GradientError({
        op: gradient.producer?.definition.opType ?? 'grad',
        detail: `gradient ${gradient} does not match ${tensor}`,
      });
    }
    const list = contributions.get(tensor);
    if (list) list.push(gradient);
    else contributions.set(tensor, [gradient]);
  };
  const total = (tensor: SymbolicTensor): SymbolicTensor | undefined => {
    const list = contributions.get(tensor);
    if (!list || list.length === 0) return undefined;
    let sum = list[0]!;
    for (let index = 1; index < list.length; index++) sum = add(sum, list[index]!);
    contributions.set(tensor, [sum]);
    return sum;
  };

  if (active.has(loss)) contribute(loss, options.outputGradient ?? fullLike(loss, 1));

  const lastNode = loss.producer?.id ?? -1;
  const nodes = graph.nodes;
  for (let id = lastNode; id >= 0; id--) {
    const node = nodes[id]!;
    if (!node.outputs.some((output) => active.has(output))) continue;
    const outputGradients = node.outputs.map((output) => total(output));
    if (outputGradients.every((gradient) => gradient === undefined)) continue;
    const needsGradient = node.inputs.map((input) => input !== undefined && active.has(input));
    if (!needsGradient.some(Boolean)) continue;
    if (!node.definition.gradient) {
      throw new GradientError({
        op: node.definition.opType,
        detail: `no gradient rule (node producing '${node.outputs[0]?.name}' lies between the loss and a parameter)`,
      });
    }
    const inputGradients = node.definition.gradient({ node, outputGradients, needsGradient });
    node.inputs.forEach((input, index) => {
      const gradient = inputGradients[index];
      if (input && gradient && needsGradient[index]) contribute(input, gradient);
    });
  }

  return wrt.map((tensor) => total(tensor) ?? zerosLike(tensor));
}
