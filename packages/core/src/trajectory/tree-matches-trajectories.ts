import { ValidationError, type ValidationIssue } from '../errors/validation-error.js';
import { type RolloutTree, treeStructureIssues } from './rollout-tree.js';
import type { Trajectory } from './trajectory.js';

/** The parts of a trajectory the tree check reads. */
export type TreeCheckTrajectory = Pick<Trajectory, 'responseTokenIds' | 'lossMask'>;

export interface TreeCheckOptions {
  /** Where the group came from (file, URL, worker), named in the error. */
  source?: string;
  /** Stop collecting after this many issues (default 20), so one broken tree cannot produce a huge message. */
  maximumIssues?: number;
}

/**
 * Every way `tree` fails to describe `trajectories`, with paths starting at `nodes` (empty when it matches):
 * - the tree's own structure (`treeStructureIssues`);
 * - trajectory indices in range and unique; the root holds every trajectory and starts at 0;
 * - `children` name nodes whose `parentId` is this node, and split the node's trajectories: each trajectory of
 *   a node with children is in exactly one child, so every trajectory has one root-to-leaf path;
 * - spans lie inside every trajectory through them, and a trajectory's leaf ends at its response length;
 * - every trajectory through a node has the same `responseTokenIds` and `lossMask` over the node's span.
 * Plain loops, no zod: a group holds tens of thousands of tokens.
 */
export function treeMismatches(
  tree: RolloutTree,
  trajectories: readonly TreeCheckTrajectory[],
  options: Pick<TreeCheckOptions, 'maximumIssues'> = {},
): ValidationIssue[] {
  const limit = options.maximumIssues ?? 20;
  const issues: ValidationIssue[] = [];
  const add = (path: (string | number)[], message: string): boolean => {
    issues.push({ path: ['nodes', ...path], message });
    return issues.length >= limit;
  };
  for (const problem of treeStructureIssues(tree)) if (add(problem.path, problem.message)) return issues;
  // The checks below walk parent/child links, which are only meaningful on a well-formed tree.
  if (issues.length > 0) return issues;

  const count = trajectories.length;
  const { nodes } = tree;
  const root = nodes[0];
  if (root === undefined) {
    add([], 'the tree has no nodes');
    return issues;
  }
  if (root.start !== 0 && add([0, 'start'], `the root must start at position 0, got ${root.start}`))
    return issues;

  for (const node of nodes) {
    const seen = new Set<number>();
    for (const trajectory of node.trajectoryIndices) {
      if (!Number.isInteger(trajectory) || trajectory < 0 || trajectory >= count) {
        if (
          add([node.id, 'trajectoryIndices'], `trajectory ${trajectory} is outside the ${count} trajectories`)
        )
          return issues;
      } else if (seen.has(trajectory)) {
        if (add([node.id, 'trajectoryIndices'], `lists trajectory ${trajectory} twice`)) return issues;
      }
      seen.add(trajectory);
    }
    for (const childId of node.children) {
      if (nodes[childId]?.parentId !== node.id) {
        if (add([node.id, 'children'], `child ${childId} is not a node whose parentId is ${node.id}`))
          return issues;
      }
    }
  }
  if (issues.length > 0) return issues;

  for (let trajectory = 0; trajectory < count; trajectory++) {
    if (!root.trajectoryIndices.includes(trajectory)) {
      if (add([0, 'trajectoryIndices'], `the root must hold every trajectory; ${trajectory} is missing`))
        return issues;
    }
  }

  for (const node of nodes) {
    if (node.children.length > 0) {
      // Which child each trajectory continues into: exactly one, or its path would fork or stop mid-tree.
      const childOf = new Map<number, number>();
      for (const childId of new Set(node.children)) {
        for (const trajectory of nodes[childId]?.trajectoryIndices ?? []) {
          const other = childOf.get(trajectory);
          if (other !== undefined) {
            if (add([childId, 'trajectoryIndices'], `trajectory ${trajectory} is also in sibling ${other}`))
              return issues;
          }
          childOf.set(trajectory, childId);
        }
      }
      for (const trajectory of node.trajectoryIndices) {
        if (!childOf.has(trajectory)) {
          const message = `trajectory ${trajectory} continues into none of children [${node.children.join(', ')}]`;
          if (add([node.id, 'children'], message)) return issues;
        }
      }
    }
    const [first, ...others] = node.trajectoryIndices;
    if (first === undefined) continue;
    for (const trajectory of node.trajectoryIndices) {
      const length = trajectories[trajectory]?.responseTokenIds.length ?? 0;
      if (node.end > length) {
        if (
          add([node.id, 'end'], `${node.end} is past trajectory ${trajectory}'s response (${length} tokens)`)
        )
          return issues;
      } else if (node.children.length === 0 && node.end !== length) {
        const message = `trajectory ${trajectory} ends here but its response has ${length} tokens, not ${node.end}`;
        if (add([node.id, 'end'], message)) return issues;
      }
    }
    const reference = trajectories[first] as TreeCheckTrajectory;
    for (const trajectory of others) {
      const other = trajectories[trajectory] as TreeCheckTrajectory;
      const end = Math.min(node.end, reference.responseTokenIds.length, other.responseTokenIds.length);
      for (const field of ['responseTokenIds', 'lossMask'] as const) {
        const expected = reference[field];
        const actual = other[field];
        for (let position = node.start; position < end; position++) {
          if (actual[position] !== expected[position]) {
            const message = `trajectories ${first} and ${trajectory} share this span but their ${field} differ at position ${position} (${expected[position]} vs ${actual[position]})`;
            if (add([node.id], message)) return issues;
            break;
          }
        }
      }
    }
  }
  return issues;
}

/**
 * Throws a `ValidationError` (subject `RolloutTree`) naming the first offending node and field when `tree` does
 * not describe `trajectories`; see `treeMismatches` for what is checked. Call it where a group crosses a
 * boundary (a rollout worker's result, a group read from a file), not per training step.
 */
export function assertTreeMatchesTrajectories(
  tree: RolloutTree,
  trajectories: readonly TreeCheckTrajectory[],
  options: TreeCheckOptions = {},
): void {
  const issues = treeMismatches(tree, trajectories, options);
  if (issues.length > 0)
    throw new ValidationError({ subject: 'RolloutTree', issues, source: options.source });
}
