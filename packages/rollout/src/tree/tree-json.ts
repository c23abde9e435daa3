import type { RolloutGroup, Tokenizer } from '@arpo/core';

/** A rollout tree as plain JSON for viewers: node spans with their decoded text, and trajectory summaries. */
export interface RolloutTreeJson {
  promptId: string;
  prompt?: string;
  nodes: {
    id: number;
    parentId: number | null;
    children: number[];
    start: number;
    end: number;
    trajectoryIndices: number[];
    text?: string;
    /** Share of the span's tokens that are tool output (loss mask 0). */
    toolShare: number;
    fork?: { entropy: number; entropyDelta: number; probability: number; branches: number };
  }[];
  trajectories: {
    id: string;
    finishReason: string;
    reward?: number;
    toolCalls: number;
    responseTokens: number;
    text?: string;
  }[];
  statistics: RolloutGroup['statistics'];
}

/**
 * Exports a group for the report's tree viewer. With a tokenizer, each node carries its decoded span (taken
 * from the first trajectory that passes through it) and each trajectory its full text.
 */
export function rolloutGroupToJson(
  group: RolloutGroup,
  options: { tokenizer?: Tokenizer } = {},
): RolloutTreeJson {
  const { tokenizer } = options;
  const json: RolloutTreeJson = {
    promptId: group.promptId,
    nodes: group.tree.nodes.map((node) => {
      const owner = group.trajectories[node.trajectoryIndices[0] ?? 0];
      let tool = 0;
      for (let position = node.start; position < node.end; position++) {
        if (owner?.lossMask[position] === 0) tool += 1;
      }
      const entry: RolloutTreeJson['nodes'][number] = {
        id: node.id,
        parentId: node.parentId,
        children: [...node.children],
        start: node.start,
        end: node.end,
        trajectoryIndices: [...node.trajectoryIndices],
        toolShare: node.end > node.start ? tool / (node.end - node.start) : 0,
      };
      if (tokenizer !== undefined && owner !== undefined) {
        entry.text = tokenizer.decode(owner.responseTokenIds.subarray(node.start, node.end));
      }
      if (node.fork !== undefined) entry.fork = { ...node.fork };
      return entry;
    }),
    trajectories: group.trajectories.map((trajectory) => {
      const entry: RolloutTreeJson['trajectories'][number] = {
        id: trajectory.id,
        finishReason: trajectory.finishReason,
        toolCalls: trajectory.metrics.toolCalls ?? 0,
        responseTokens: trajectory.responseTokenIds.length,
      };
      if (trajectory.reward !== undefined) entry.reward = trajectory.reward.total;
      if (tokenizer !== undefined) entry.text = tokenizer.decode(trajectory.responseTokenIds);
      return entry;
    }),
    statistics: { ...group.statistics },
  };
  const first = group.trajectories[0];
  if (tokenizer !== undefined && first !== undefined) json.prompt = tokenizer.decode(first.promptTokenIds);
  return json;
}
