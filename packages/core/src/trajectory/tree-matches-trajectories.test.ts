import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { createRandom } from '../random/random.js';
import { parse } from '../schema/lazy-schema.js';
import { rolloutGroupSchema } from './rollout-group-schema.js';
import {
  independentTree,
  type RolloutGroup,
  type RolloutTree,
  type RolloutTreeNode,
  rolloutTreeSchema,
} from './rollout-tree.js';
import type { Trajectory } from './trajectory.js';
import { assertTreeMatchesTrajectories, treeMismatches } from './tree-matches-trajectories.js';

function trajectory(index: number, tokenIds: number[], lossMask?: number[]): Trajectory {
  const length = tokenIds.length;
  return {
    id: `t${index}`,
    promptId: 'p',
    promptTokenIds: Int32Array.of(1, 2),
    responseTokenIds: Int32Array.from(tokenIds),
    logprobs: new Float32Array(length),
    entropies: new Float32Array(length),
    lossMask: lossMask === undefined ? new Uint8Array(length).fill(1) : Uint8Array.from(lossMask),
    segments: [],
    finishReason: 'eos',
    metrics: {},
  };
}

/**
 * Grows trees the way @arpo/rollout's TreeBuilder does: fresh trajectories are leaves under an empty root; a
 * fork at p inside a leaf ends the leaf at p and opens a new leaf for the parent and one per branch at p; a fork
 * exactly at a leaf's start adds the branches as siblings; branches copy the parent's tokens before p.
 */
class RolloutShapedTree {
  readonly nodes: RolloutTreeNode[] = [
    { id: 0, parentId: null, children: [], start: 0, end: 0, trajectoryIndices: [] },
  ];
  readonly leafOf: number[] = [];
  readonly tokens: number[][] = [];
  readonly masks: number[][] = [];

  private open(parentId: number, start: number, trajectory: number): void {
    const id = this.nodes.length;
    this.nodes.push({ id, parentId, children: [], start, end: start, trajectoryIndices: [trajectory] });
    this.nodes[parentId]!.children.push(id);
    this.leafOf[trajectory] = id;
    for (let node: number | null = parentId; node !== null; node = this.nodes[node]!.parentId) {
      const indices = this.nodes[node]!.trajectoryIndices;
      if (!indices.includes(trajectory)) indices.push(trajectory);
    }
  }

  start(): number {
    const trajectory = this.tokens.length;
    this.tokens.push([]);
    this.masks.push([]);
    this.open(0, 0, trajectory);
    return trajectory;
  }

  /** Appends model (mask 1) or tool (mask 0) tokens to a trajectory. */
  append(trajectory: number, tokenIds: number[], mask: 0 | 1): void {
    this.tokens[trajectory]!.push(...tokenIds);
    this.masks[trajectory]!.push(...tokenIds.map(() => mask));
  }

  fork(parent: number): number {
    const at = this.tokens[parent]!.length;
    const leaf = this.nodes[this.leafOf[parent]!]!;
    let forkNode: number;
    if (at === leaf.start && leaf.parentId !== null) {
      forkNode = leaf.parentId;
    } else {
      leaf.end = at;
      forkNode = leaf.id;
      this.open(forkNode, at, parent);
    }
    const branch = this.tokens.length;
    this.tokens.push(this.tokens[parent]!.slice());
    this.masks.push(this.masks[parent]!.slice());
    this.open(forkNode, at, branch);
    return branch;
  }

  finish(): { tree: RolloutTree; trajectories: Trajectory[] } {
    this.tokens.forEach((tokenIds, index) => {
      this.nodes[this.leafOf[index]!]!.end = tokenIds.length;
    });
    for (const node of this.nodes) node.trajectoryIndices.sort((first, second) => first - second);
    return {
      tree: { promptId: 'p', rootId: 0, nodes: this.nodes },
      trajectories: this.tokens.map((tokenIds, index) => trajectory(index, tokenIds, this.masks[index])),
    };
  }
}

/** Two roots; 0 forks after a tool result (branch 2), then 2 forks at once (sibling case, branch 3). */
function branchedGroup(): { tree: RolloutTree; trajectories: Trajectory[] } {
  const builder = new RolloutShapedTree();
  const first = builder.start();
  const second = builder.start();
  builder.append(first, [10, 11], 1);
  builder.append(first, [90], 0);
  builder.append(second, [20, 21, 22], 1);
  const branch = builder.fork(first);
  builder.append(first, [12, 13], 1);
  const sibling = builder.fork(branch);
  builder.append(branch, [14], 1);
  builder.append(sibling, [15, 16, 17], 1);
  return builder.finish();
}

function fieldOf(run: () => unknown): { field: string; message: string; issues: number } {
  try {
    run();
  } catch (error) {
    if (ValidationError.isInstance(error)) {
      return { field: error.field, message: error.message, issues: error.issues.length };
    }
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('assertTreeMatchesTrajectories', () => {
  it('accepts the trees a rollout produces: independent leaves, forks inside a leaf, sibling forks', () => {
    const { tree, trajectories } = branchedGroup();
    // Root [0,0) → leaf of 1, and node 1 = [0,3) shared by 0, 2, 3, which splits at 3.
    expect(tree.nodes.map((node) => [node.start, node.end, node.trajectoryIndices])).toEqual([
      [0, 0, [0, 1, 2, 3]],
      [0, 3, [0, 2, 3]],
      [0, 3, [1]],
      [3, 5, [0]],
      [3, 4, [2]],
      [3, 6, [3]],
    ]);
    expect(() => parse(rolloutTreeSchema, tree)).not.toThrow();
    expect(treeMismatches(tree, trajectories)).toEqual([]);
    expect(() =>
      assertTreeMatchesTrajectories(independentTree('p', trajectories), trajectories),
    ).not.toThrow();
  });

  it('accepts random rollout-shaped trees (seeded), including empty leaves at a fork point', () => {
    for (let seed = 0; seed < 40; seed++) {
      const random = createRandom({ seed });
      const builder = new RolloutShapedTree();
      const live = [builder.start()];
      for (let step = 0; step < 30; step++) {
        const chosen = live[random.integer(live.length)]!;
        const action = random.integer(4);
        if (action === 0) live.push(builder.fork(chosen));
        else if (action === 1 && live.length < 6) live.push(builder.start());
        else builder.append(chosen, [random.integer(50)], (random.integer(3) === 0 ? 0 : 1) as 0 | 1);
      }
      const { tree, trajectories } = builder.finish();
      expect(treeMismatches(tree, trajectories), `seed ${seed}`).toEqual([]);
    }
  });

  it('names the node whose shared span differs in token ids or loss mask', () => {
    const { tree, trajectories } = branchedGroup();
    trajectories[3]!.responseTokenIds[1] = 99;
    const tokens = fieldOf(() => assertTreeMatchesTrajectories(tree, trajectories));
    expect(tokens.field).toBe('nodes[1]');
    expect(tokens.message).toContain(
      'Invalid RolloutTree: nodes[1]: trajectories 0 and 3 share this span but their responseTokenIds differ at position 1 (11 vs 99)',
    );
    const masks = branchedGroup();
    masks.trajectories[2]!.lossMask[2] = 1;
    const mask = fieldOf(() =>
      assertTreeMatchesTrajectories(masks.tree, masks.trajectories, { source: 'worker 3' }),
    );
    expect(mask.field).toBe('nodes[1]');
    expect(mask.message).toContain('in worker 3');
    expect(mask.message).toContain('lossMask differ at position 2 (0 vs 1)');
  });

  it('names a leaf whose end is not its trajectory length, and a span past a response', () => {
    const { tree, trajectories } = branchedGroup();
    const short = structuredClone(tree);
    short.nodes[3]!.end = 4;
    expect(fieldOf(() => assertTreeMatchesTrajectories(short, trajectories))).toMatchObject({
      field: 'nodes[3].end',
      message: expect.stringContaining('trajectory 0 ends here but its response has 5 tokens, not 4'),
    });
    const longer = trajectories.map((entry) => ({ ...entry }));
    longer[1] = trajectory(1, [20, 21]);
    expect(fieldOf(() => assertTreeMatchesTrajectories(tree, longer))).toMatchObject({
      field: 'nodes[2].end',
      message: expect.stringContaining("3 is past trajectory 1's response (2 tokens)"),
    });
  });

  it('names trajectory sets that are inconsistent with parents and children', () => {
    const { tree, trajectories } = branchedGroup();
    const cases: { name: string; edit: (tree: RolloutTree) => void; field: string; message: string }[] = [
      {
        name: 'missing from the root',
        edit: (copy) => {
          copy.nodes[0]!.trajectoryIndices = [0, 2, 3];
          copy.nodes[2]!.trajectoryIndices = [];
        },
        field: 'nodes[0].trajectoryIndices',
        message: 'the root must hold every trajectory; 1 is missing',
      },
      {
        name: 'in two siblings',
        edit: (copy) => {
          copy.nodes[4]!.trajectoryIndices = [0, 2];
        },
        field: 'nodes[4].trajectoryIndices',
        message: 'trajectory 0 is also in sibling 3',
      },
      {
        name: 'continues into no child',
        edit: (copy) => {
          copy.nodes[5]!.trajectoryIndices = [2];
          copy.nodes[4]!.trajectoryIndices = [];
        },
        field: 'nodes[1].children',
        message: 'trajectory 3 continues into none of children [3, 4, 5]',
      },
      {
        name: 'out of range',
        edit: (copy) => {
          copy.nodes[0]!.trajectoryIndices = [0, 1, 2, 3, 7];
        },
        field: 'nodes[0].trajectoryIndices',
        message: 'trajectory 7 is outside the 4 trajectories',
      },
      {
        name: 'listed twice',
        edit: (copy) => {
          copy.nodes[2]!.trajectoryIndices = [1, 1];
        },
        field: 'nodes[2].trajectoryIndices',
        message: 'lists trajectory 1 twice',
      },
      {
        name: 'a child that belongs to another parent',
        edit: (copy) => {
          copy.nodes[2]!.children = [4];
        },
        field: 'nodes[2].children',
        message: 'child 4 is not a node whose parentId is 2',
      },
      {
        name: 'a gap between parent and child (structure)',
        edit: (copy) => {
          copy.nodes[5]!.start = 2;
        },
        field: 'nodes[5].start',
        message: 'must equal parent end 3',
      },
    ];
    for (const testCase of cases) {
      const copy = structuredClone(tree);
      testCase.edit(copy);
      const result = fieldOf(() => assertTreeMatchesTrajectories(copy, trajectories));
      expect(result.field, testCase.name).toBe(testCase.field);
      expect(result.message, testCase.name).toContain(testCase.message);
    }
  });

  it('caps the number of issues it collects', () => {
    const { tree, trajectories } = branchedGroup();
    const wrong = trajectories.map((entry, index) => trajectory(index, [...entry.responseTokenIds, 0]));
    expect(treeMismatches(tree, wrong).length).toBe(4);
    expect(treeMismatches(tree, wrong, { maximumIssues: 2 })).toHaveLength(2);
  });
});

describe('rolloutGroupSchema', () => {
  function group(): RolloutGroup {
    const { tree, trajectories } = branchedGroup();
    return {
      promptId: 'p',
      trajectories,
      tree,
      statistics: { computedTokens: 40, reusedTokens: 6, toolCalls: 1, rounds: 1 },
    };
  }

  it('accepts a well-formed group', () => {
    expect(parse(rolloutGroupSchema, group()).trajectories).toHaveLength(4);
  });

  it('reports a tree that does not describe the trajectories under tree.nodes', () => {
    const value = group();
    value.trajectories[2]!.responseTokenIds[0] = 5;
    const result = fieldOf(() => parse(rolloutGroupSchema, value, { source: 'groups.jsonl:4' }));
    expect(result.field).toBe('tree.nodes[1]');
    expect(result.message).toMatch(
      /^Invalid RolloutGroup in groups\.jsonl:4: tree\.nodes\[1\]: trajectories 0 and 2/,
    );
  });

  it('names prompt ids that disagree, bad statistics, and malformed trajectories', () => {
    const prompt = group();
    prompt.trajectories[1]!.promptId = 'q';
    expect(fieldOf(() => parse(rolloutGroupSchema, prompt)).field).toBe('trajectories[1].promptId');
    const treePrompt = group();
    treePrompt.tree.promptId = 'q';
    expect(fieldOf(() => parse(rolloutGroupSchema, treePrompt)).field).toBe('tree.promptId');
    const statistics = group();
    statistics.statistics.toolCalls = -1;
    expect(fieldOf(() => parse(rolloutGroupSchema, statistics)).field).toBe('statistics.toolCalls');
    const malformed = group() as unknown as { trajectories: Record<string, unknown>[] };
    malformed.trajectories[0]!.responseTokenIds = [10, 11, 90, 12, 13];
    const result = fieldOf(() => parse(rolloutGroupSchema, malformed));
    expect(result.field).toBe('trajectories[0].responseTokenIds');
    // Only the trajectory is reported, not a cascade of tree mismatches.
    expect(result.issues).toBe(1);
    expect(fieldOf(() => parse(rolloutGroupSchema, { ...group(), trajectories: [] })).field).toBe(
      'trajectories',
    );
  });
});
