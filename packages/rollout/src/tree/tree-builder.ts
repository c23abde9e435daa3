import type { ForkInfo, RolloutTree, RolloutTreeNode } from '@arpo/core';
import type { TrajectoryState } from '../agent/trajectory-state.js';

/**
 * Grows a prompt's rollout tree as trajectories start and fork. Every trajectory writes into its own leaf; a
 * fork at response position p ends the parent's leaf at p and opens one new leaf for the parent and one per
 * branch, all starting at p. Branches are added to every ancestor, since they share those spans.
 */
export class TreeBuilder {
  readonly nodes: RolloutTreeNode[] = [
    { id: 0, parentId: null, children: [], start: 0, end: 0, trajectoryIndices: [] },
  ];

  constructor(readonly promptId: string) {}

  private node(id: number): RolloutTreeNode {
    const node = this.nodes[id];
    if (node === undefined) throw new Error(`rollout tree has no node ${id}`);
    return node;
  }

  private addNode(parentId: number, start: number, trajectoryIndex: number): number {
    const id = this.nodes.length;
    this.nodes.push({ id, parentId, children: [], start, end: start, trajectoryIndices: [trajectoryIndex] });
    this.node(parentId).children.push(id);
    return id;
  }

  private addToAncestors(nodeId: number | null, trajectoryIndex: number): void {
    for (let id = nodeId; id !== null; id = this.node(id).parentId) {
      const node = this.node(id);
      if (!node.trajectoryIndices.includes(trajectoryIndex)) node.trajectoryIndices.push(trajectoryIndex);
    }
  }

  /** A fresh trajectory from the prompt: a new leaf under the root. */
  start(state: TrajectoryState): void {
    this.addToAncestors(0, state.index);
    state.leafNodeId = this.addNode(0, 0, state.index);
  }

  /** Records that `branches` were forked from `parent` at response position `at`. */
  fork(parent: TrajectoryState, branches: readonly TrajectoryState[], at: number, info: ForkInfo): void {
    const leaf = this.node(parent.leafNodeId);
    let forkNodeId: number;
    if (at === leaf.start && leaf.parentId !== null) {
      // The parent's leaf begins exactly at the fork point: branches become its siblings.
      forkNodeId = leaf.parentId;
    } else {
      leaf.end = at;
      forkNodeId = leaf.id;
      parent.leafNodeId = this.addNode(forkNodeId, at, parent.index);
    }
    const forkNode = this.node(forkNodeId);
    forkNode.fork =
      forkNode.fork === undefined ? info : { ...info, branches: forkNode.fork.branches + info.branches };
    for (const branch of branches) {
      this.addToAncestors(forkNodeId, branch.index);
      branch.leafNodeId = this.addNode(forkNodeId, at, branch.index);
    }
  }

  /** Closes every leaf at its trajectory's final length and returns the tree. */
  finish(states: readonly TrajectoryState[]): RolloutTree {
    for (const state of states) this.node(state.leafNodeId).end = state.responseLength;
    for (const node of this.nodes) node.trajectoryIndices.sort((first, second) => first - second);
    return { promptId: this.promptId, rootId: 0, nodes: this.nodes };
  }
}
