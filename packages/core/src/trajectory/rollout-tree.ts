import { z } from 'zod';
import { lazySchema } from '../schema/lazy-schema.js';
import type { Trajectory } from './trajectory.js';

/** Why a node split into children. Present on nodes that were forked by an adaptive sampler. */
export interface ForkInfo {
  /** Entropy statistic measured at the fork point (its definition depends on the sampler mode). */
  entropy: number;
  /** Change against the trajectory's baseline entropy. */
  entropyDelta: number;
  /** Branch probability the rule computed. */
  probability: number;
  /** New branches created here (the parent continues too). */
  branches: number;
}

/**
 * A node is a token span shared by every trajectory passing through it. Following `children` from the root
 * down to a leaf and concatenating the spans gives one trajectory's response.
 */
export interface RolloutTreeNode {
  id: number;
  parentId: number | null;
  children: number[];
  /** Response token range [start, end) of this span (positions are the same in every trajectory through it). */
  start: number;
  end: number;
  /** Indices into the group's `trajectories` of every trajectory that contains this span. */
  trajectoryIndices: number[];
  fork?: ForkInfo;
}

/**
 * The fork structure of one prompt's rollouts. Independent sampling gives a root with one leaf per trajectory.
 * Node ids equal their index in `nodes`, and every child has a larger id than its parent.
 */
export interface RolloutTree {
  promptId: string;
  /** Always 0; the root spans [0, shared prefix length) and contains every trajectory. */
  rootId: number;
  nodes: RolloutTreeNode[];
}

/** Token and tool accounting of one group's rollout. */
export interface RolloutGroupStatistics {
  /** Tokens run through the model (prompt prefill + generated + appended tool tokens that were encoded). */
  computedTokens: number;
  /** Tokens taken from a shared prefix instead of being recomputed. */
  reusedTokens: number;
  /** Tool calls actually executed (shared calls counted once). */
  toolCalls: number;
  /** Sampling rounds needed (DAPO dynamic sampling, ARPO refills). */
  rounds?: number;
}

/**
 * The trajectories of one prompt, with their tree. `rolloutGroupSchema` validates one at a boundary, including
 * that the tree describes the trajectories (`assertTreeMatchesTrajectories` does only the latter).
 */
export interface RolloutGroup {
  promptId: string;
  trajectories: Trajectory[];
  tree: RolloutTree;
  statistics: RolloutGroupStatistics;
}

export const rolloutTreeSchema = lazySchema<RolloutTree>('RolloutTree', () =>
  z
    .object({
      promptId: z.string().min(1),
      rootId: z.literal(0),
      nodes: z
        .array(
          z.object({
            id: z.number().int().nonnegative(),
            parentId: z.number().int().nonnegative().nullable(),
            children: z.array(z.number().int().nonnegative()),
            start: z.number().int().nonnegative(),
            end: z.number().int().nonnegative(),
            trajectoryIndices: z.array(z.number().int().nonnegative()).min(1),
            fork: z
              .object({
                entropy: z.number(),
                entropyDelta: z.number(),
                probability: z.number().min(0).max(1),
                branches: z.number().int().nonnegative(),
              })
              .optional(),
          }),
        )
        .min(1),
    })
    .superRefine((tree, context) => {
      const problems = treeStructureIssues(tree);
      for (const problem of problems) {
        context.addIssue({ code: 'custom', path: ['nodes', ...problem.path], message: problem.message });
      }
    }),
);

/**
 * Structural problems of a tree on its own (ids, parent links, contiguous spans, child trajectories inside the
 * parent's), with paths relative to `nodes`. Shared by `rolloutTreeSchema` and `assertTreeMatchesTrajectories`.
 */
export function treeStructureIssues(tree: RolloutTree): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  tree.nodes.forEach((node, index) => {
    if (node.id !== index) problems.push({ path: [index, 'id'], message: `must equal its index ${index}` });
    if (node.end < node.start)
      problems.push({ path: [index, 'end'], message: `is before start ${node.start}` });
    if (index === 0 && node.parentId !== null)
      problems.push({ path: [0, 'parentId'], message: 'root has a parent' });
    if (index > 0) {
      const parent = node.parentId === null ? undefined : tree.nodes[node.parentId];
      if (parent === undefined || parent.id >= index) {
        problems.push({
          path: [index, 'parentId'],
          message: `must name an earlier node, got ${node.parentId}`,
        });
      } else {
        if (!parent.children.includes(index)) {
          problems.push({
            path: [index, 'parentId'],
            message: `parent ${parent.id} does not list it as a child`,
          });
        }
        if (node.start !== parent.end) {
          problems.push({ path: [index, 'start'], message: `must equal parent end ${parent.end}` });
        }
        for (const trajectory of node.trajectoryIndices) {
          if (!parent.trajectoryIndices.includes(trajectory)) {
            problems.push({
              path: [index, 'trajectoryIndices'],
              message: `trajectory ${trajectory} is not in parent ${parent.id}`,
            });
          }
        }
      }
    }
  });
  return problems;
}

/** Builds the tree of independent samples: a root with an empty span and one leaf per trajectory. */
export function independentTree(promptId: string, trajectories: readonly Trajectory[]): RolloutTree {
  const nodes: RolloutTreeNode[] = [
    {
      id: 0,
      parentId: null,
      children: trajectories.map((_, index) => index + 1),
      start: 0,
      end: 0,
      trajectoryIndices: trajectories.map((_, index) => index),
    },
  ];
  trajectories.forEach((trajectory, index) => {
    nodes.push({
      id: index + 1,
      parentId: 0,
      children: [],
      start: 0,
      end: trajectory.responseTokenIds.length,
      trajectoryIndices: [index],
    });
  });
  return { promptId, rootId: 0, nodes };
}

/** For each trajectory, the node ids on its root-to-leaf path. */
export function trajectoryPaths(tree: RolloutTree, trajectoryCount: number): number[][] {
  const paths: number[][] = Array.from({ length: trajectoryCount }, () => []);
  for (const node of tree.nodes) {
    for (const trajectory of node.trajectoryIndices) paths[trajectory]?.push(node.id);
  }
  return paths;
}
