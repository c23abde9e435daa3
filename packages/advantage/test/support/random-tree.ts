import { type AdvantageGroupInput, createRandom, type RolloutTree, type RolloutTreeNode } from '@arpo/core';

/**
 * A random rollout tree over `count` trajectories with consistent masks: each node gets a span of 0-3 tokens
 * (always 0 for nodes shared by several trajectories when `sharedSpans` is false) and its own random mask bits,
 * and a trajectory's mask is the concatenation along its path.
 */
export function randomTreeGroup(options: {
  seed: number;
  count: number;
  scores: readonly number[];
  sharedSpans: boolean;
}): AdvantageGroupInput {
  const random = createRandom({ seed: options.seed });
  const nodes: RolloutTreeNode[] = [];
  const nodeMasks: number[][] = [];
  const build = (trajectories: number[], parentId: number | null, start: number): number => {
    const id = nodes.length;
    const shared = trajectories.length > 1;
    const length = shared && !options.sharedSpans ? 0 : random.integer(4);
    const node: RolloutTreeNode = {
      id,
      parentId,
      children: [],
      start,
      end: start + length,
      trajectoryIndices: trajectories,
    };
    nodes.push(node);
    nodeMasks.push(Array.from({ length }, () => random.integer(2)));
    if (shared) {
      const shuffled = random.shuffle([...trajectories]);
      const parts = 2 + random.integer(shuffled.length - 1);
      const groups: number[][] = Array.from({ length: parts }, () => []);
      shuffled.forEach((trajectory, index) => {
        (groups[index < parts ? index : random.integer(parts)] as number[]).push(trajectory);
      });
      for (const group of groups) {
        group.sort((a, b) => a - b);
        node.children.push(build(group, id, node.end));
      }
    }
    return id;
  };
  build(
    Array.from({ length: options.count }, (_, index) => index),
    null,
    0,
  );
  const tree: RolloutTree = { promptId: 'p', rootId: 0, nodes };
  const lossMasks = Array.from({ length: options.count }, (_, trajectory) => {
    const bits: number[] = [];
    for (const node of nodes)
      if (node.trajectoryIndices.includes(trajectory)) bits.push(...(nodeMasks[node.id] ?? []));
    return Uint8Array.from(bits);
  });
  return { id: 'tree', scores: Float64Array.from(options.scores), lossMasks, tree };
}
