import {
  type AdvantageEstimator,
  type AdvantageGroupInput,
  type AdvantageGroupOutput,
  InvalidArgumentError,
  parse,
  type RolloutTree,
  trajectoryPaths,
} from '@arpo/core';
import { checkGroup, checkGroups } from '../validation/check-groups.js';
import { broadcastToTokens } from './broadcast.js';
import {
  type ArpoHardEstimatorOptions,
  arpoHardOptionsSchema,
  type GrpoEstimatorOptions,
  grpoOptionsSchema,
} from './estimator-options.js';
import { grpoScalarAdvantages } from './grpo-estimator.js';

/** One tree node's token span with its attributed advantage, listed once however many trajectories share it. */
export interface ArpoHardSpan {
  nodeId: number;
  /** Response token range [start, end), the same positions in every trajectory through the node. */
  start: number;
  end: number;
  /** The trajectories sharing this span (the node's `trajectoryIndices`); their masks agree here. */
  trajectoryIndices: readonly number[];
  /** Mean GRPO advantage of those trajectories. */
  advantage: number;
  /** `advantage` times the loss mask over [start, end). */
  advantages: Float32Array;
}

/** `arpo_hard` with each shared token emitted once. */
export interface ArpoHardSpanOutput {
  groupId: string;
  /** GRPO advantage of each trajectory before attribution, in input order. */
  trajectoryAdvantages: Float64Array;
  /** Attributed advantage of every tree node, indexed by node id. */
  nodeAdvantages: Float64Array;
  /**
   * One entry per node with a non-empty span, parents before children. To reproduce the per-trajectory
   * `token-mean` loss from spans, weight each span's tokens by `trajectoryIndices.length`.
   */
  spans: ArpoHardSpan[];
}

/**
 * `arpo_hard` output with `sharedTokens: 'once'`: the contract's per-trajectory rows, where each shared token
 * is present only in the row of its node's first trajectory, plus the spans.
 */
export interface ArpoHardOnceOutput extends AdvantageGroupOutput {
  /** The input masks with every repeated copy of a shared token cleared: train with these. */
  lossMasks: Uint8Array[];
  /** The same spans `estimateArpoHardSpans` returns. */
  spans: ArpoHardSpan[];
}

interface Attribution {
  scalars: Float64Array;
  nodeAdvantages: Float64Array;
  paths: number[][];
  tree: RolloutTree;
}

/**
 * Checks that `tree` describes the group: node indices in range, every trajectory's path a root-to-leaf chain
 * starting at position 0 and ending at its response length.
 */
function treePaths(tree: RolloutTree, lossMasks: readonly Uint8Array[], where: string): number[][] {
  const count = lossMasks.length;
  if (tree === null || typeof tree !== 'object' || !Array.isArray(tree.nodes) || tree.nodes.length === 0) {
    throw new InvalidArgumentError({
      argument: `${where}.tree`,
      message: 'expected a rollout tree with nodes',
    });
  }
  tree.nodes.forEach((node, index) => {
    if (node.id !== index) {
      throw new InvalidArgumentError({
        argument: `${where}.tree.nodes[${index}].id`,
        message: `node id ${node.id} must equal its index ${index}`,
      });
    }
    if (!(node.start >= 0 && node.end >= node.start)) {
      throw new InvalidArgumentError({
        argument: `${where}.tree.nodes[${index}]`,
        message: `span [${node.start}, ${node.end}) is not a valid range`,
      });
    }
    for (const trajectory of node.trajectoryIndices) {
      if (!Number.isInteger(trajectory) || trajectory < 0 || trajectory >= count) {
        throw new InvalidArgumentError({
          argument: `${where}.tree.nodes[${index}].trajectoryIndices`,
          message: `trajectory index ${trajectory} is outside the group's ${count} trajectories`,
        });
      }
    }
  });
  const paths = trajectoryPaths(tree, count);
  paths.forEach((path, trajectory) => {
    const fail = (message: string): never => {
      throw new InvalidArgumentError({
        argument: `${where}.tree`,
        message: `trajectory ${trajectory}: ${message}`,
      });
    };
    if (path[0] !== 0) fail('its path does not start at the root node 0');
    let previousEnd = 0;
    for (let step = 0; step < path.length; step++) {
      const node = tree.nodes[path[step] as number]!;
      if (step > 0 && node.parentId !== path[step - 1]) {
        fail(`node ${node.id} follows node ${path[step - 1]} on its path but is not its child`);
      }
      if (node.start !== previousEnd)
        fail(`node ${node.id} starts at ${node.start}, expected ${previousEnd}`);
      previousEnd = node.end;
    }
    const length = (lossMasks[trajectory] as Uint8Array).length;
    if (previousEnd !== length) fail(`its path covers ${previousEnd} tokens but its loss mask has ${length}`);
  });
  return paths;
}

function attribute(group: AdvantageGroupInput, options: GrpoEstimatorOptions, where: string): Attribution {
  const scalars = grpoScalarAdvantages(group, options);
  const tree = group.tree;
  if (tree === undefined) {
    // No tree: independent samples, nothing is shared, attribution is plain GRPO.
    const leaves: RolloutTree = {
      promptId: group.id,
      rootId: 0,
      nodes: [
        {
          id: 0,
          parentId: null,
          children: group.lossMasks.map((_, index) => index + 1),
          start: 0,
          end: 0,
          trajectoryIndices: group.lossMasks.map((_, index) => index),
        },
        ...group.lossMasks.map((mask, index) => ({
          id: index + 1,
          parentId: 0,
          children: [],
          start: 0,
          end: mask.length,
          trajectoryIndices: [index],
        })),
      ],
    };
    return attributeOnTree(scalars, leaves, treePaths(leaves, group.lossMasks, where));
  }
  return attributeOnTree(scalars, tree, treePaths(tree, group.lossMasks, where));
}

function attributeOnTree(scalars: Float64Array, tree: RolloutTree, paths: number[][]): Attribution {
  const nodeAdvantages = new Float64Array(tree.nodes.length);
  for (const node of tree.nodes) {
    let sum = 0;
    for (const trajectory of node.trajectoryIndices) sum += scalars[trajectory] as number;
    nodeAdvantages[node.id] = node.trajectoryIndices.length === 0 ? 0 : sum / node.trajectoryIndices.length;
  }
  return { scalars, nodeAdvantages, paths, tree };
}

/**
 * `arpo_hard` per trajectory: every token gets the mean GRPO advantage of all trajectories through the tree node
 * that holds it. Tokens of a prefix shared by the whole group therefore get 0; a trajectory's private tail gets
 * its own GRPO advantage. Without a tree (or on a tree without shared spans) this is exactly `grpo`.
 * With `sharedTokens: 'once'` each shared token is emitted once (see `ArpoHardOnceOutput`).
 */
export function estimateArpoHard(
  groups: readonly AdvantageGroupInput[],
  options: ArpoHardEstimatorOptions = {},
): AdvantageGroupOutput[] {
  const { sharedTokens, ...parsed } = parse(arpoHardOptionsSchema, options ?? {});
  checkGroups(groups);
  if (sharedTokens === 'once') {
    return groups.map((group, groupIndex) => emitOnce(group, parsed, `groups[${groupIndex}]`));
  }
  return groups.map((group, groupIndex) => {
    const { nodeAdvantages, paths, tree } = attribute(group, parsed, `groups[${groupIndex}]`);
    const advantages = group.lossMasks.map((mask, trajectory) => {
      const result = new Float32Array(mask.length);
      for (const nodeId of paths[trajectory] as number[]) {
        const node = tree.nodes[nodeId]!;
        const value = nodeAdvantages[nodeId] as number;
        for (let position = node.start; position < node.end; position++) {
          if (mask[position] !== 0) result[position] = value;
        }
      }
      return result;
    });
    return { advantages, returns: advantages };
  });
}

/**
 * `arpo_hard` with each shared token emitted once: one span per tree node with its averaged advantage, for
 * trainers that forward a tree's shared prefix once. Throws when trajectories sharing a node disagree on the
 * loss mask inside its span (the tree and the masks then describe different tokens).
 */
export function estimateArpoHardSpans(
  group: AdvantageGroupInput,
  options: GrpoEstimatorOptions = {},
): ArpoHardSpanOutput {
  const parsed = parse(grpoOptionsSchema, options ?? {});
  checkGroup(group, 'group');
  return spansOf(group, parsed, 'group');
}

/** The span form of one checked group; `where` names it in errors. */
function spansOf(
  group: AdvantageGroupInput,
  options: GrpoEstimatorOptions,
  where: string,
): ArpoHardSpanOutput {
  const { scalars, nodeAdvantages, tree } = attribute(group, options, where);
  const spans: ArpoHardSpan[] = [];
  for (const node of tree.nodes) {
    if (node.end === node.start) continue;
    const representative = node.trajectoryIndices[0] as number;
    const mask = group.lossMasks[representative] as Uint8Array;
    for (const other of node.trajectoryIndices) {
      const otherMask = group.lossMasks[other] as Uint8Array;
      for (let position = node.start; position < node.end; position++) {
        if (otherMask[position] !== mask[position]) {
          throw new InvalidArgumentError({
            argument: `${where}.lossMasks[${other}][${position}]`,
            message: `trajectories ${representative} and ${other} share node ${node.id} but their loss masks differ at position ${position}`,
          });
        }
      }
    }
    const advantage = nodeAdvantages[node.id] as number;
    spans.push({
      nodeId: node.id,
      start: node.start,
      end: node.end,
      trajectoryIndices: node.trajectoryIndices,
      advantage,
      advantages: broadcastToTokens(advantage, mask.subarray(node.start, node.end)),
    });
  }
  return { groupId: group.id, trajectoryAdvantages: scalars, nodeAdvantages, spans };
}

/** Lays the spans out in per-trajectory rows: each span in the row of its first trajectory only. */
function emitOnce(
  group: AdvantageGroupInput,
  options: GrpoEstimatorOptions,
  where: string,
): ArpoHardOnceOutput {
  const { spans } = spansOf(group, options, where);
  const advantages = group.lossMasks.map((mask) => new Float32Array(mask.length));
  const lossMasks = group.lossMasks.map((mask) => new Uint8Array(mask.length));
  for (const span of spans) {
    const owner = span.trajectoryIndices[0] as number;
    advantages[owner]?.set(span.advantages, span.start);
    lossMasks[owner]?.set((group.lossMasks[owner] as Uint8Array).subarray(span.start, span.end), span.start);
  }
  return { advantages, returns: advantages, lossMasks, spans };
}

export const arpoHardEstimator: AdvantageEstimator<ArpoHardEstimatorOptions> = {
  name: 'arpo_hard',
  description:
    "ARPO hard attribution: each token gets the mean GRPO advantage of all trajectories through its tree node (sharedTokens: 'once' emits shared tokens once).",
  estimate: estimateArpoHard,
};
