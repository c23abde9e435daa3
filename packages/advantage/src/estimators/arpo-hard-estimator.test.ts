import {
  type AdvantageGroupInput,
  InvalidArgumentError,
  independentTree,
  type RolloutTree,
  ValidationError,
} from '@arpo/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxDifference } from '../../test/support/groups.js';
import { randomTreeGroup } from '../../test/support/random-tree.js';
import { getAdvantageEstimator } from '../registry/built-in-estimators.js';
import {
  type ArpoHardOnceOutput,
  arpoHardEstimator,
  estimateArpoHard,
  estimateArpoHardSpans,
} from './arpo-hard-estimator.js';
import { estimateGrpo, grpoEstimator } from './grpo-estimator.js';

// Scores [1, 0, 1, 1]: GRPO advantages a = [0.499999, -1.499997, 0.499999, 0.499999].
const a = [0.5 / 1.000002, -1.5 / 1.000002, 0.5 / 1.000002, 0.5 / 1.000002] as const;

function workedGroup(): AdvantageGroupInput {
  const node = (
    id: number,
    parentId: number | null,
    children: number[],
    start: number,
    end: number,
    t: number[],
  ) => ({
    id,
    parentId,
    children,
    start,
    end,
    trajectoryIndices: t,
  });
  const tree: RolloutTree = {
    promptId: 'p',
    rootId: 0,
    nodes: [
      node(0, null, [1, 2], 0, 2, [0, 1, 2, 3]),
      node(1, 0, [3, 4], 2, 4, [0, 1]),
      node(2, 0, [5, 6], 2, 5, [2, 3]),
      node(3, 1, [], 4, 6, [0]),
      node(4, 1, [], 4, 5, [1]),
      node(5, 2, [], 5, 6, [2]),
      node(6, 2, [], 5, 7, [3]),
    ],
  };
  return {
    id: 'worked',
    scores: [1, 0, 1, 1],
    // Position 3 is a tool token in the span trajectories 0 and 1 share.
    lossMasks: [
      Uint8Array.of(1, 1, 1, 0, 1, 1),
      Uint8Array.of(1, 1, 1, 0, 1),
      new Uint8Array(6).fill(1),
      new Uint8Array(7).fill(1),
    ],
    tree,
  };
}

/** Plain number rows with -0 folded into +0 (a -0 score gives -0 in GRPO, +0 after a node mean). */
function rows(outputs: { advantages: Float32Array[] }[]): number[][][] {
  return outputs.map((output) => output.advantages.map((row) => Array.from(row, (value) => value + 0)));
}

/** A tree seed and one score per trajectory (1-8 trajectories). */
const treeCase = fc
  .integer({ min: 1, max: 8 })
  .chain((count) =>
    fc.tuple(
      fc.integer(),
      fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: count, maxLength: count }),
    ),
  );

describe('arpo_hard', () => {
  it('gives every token the mean advantage of the trajectories through its node (worked tree)', () => {
    const [output] = arpoHardEstimator.estimate([workedGroup()]);
    const shared01 = (a[0] + a[1]) / 2;
    const shared23 = (a[2] + a[3]) / 2;
    expect(maxDifference(output!.advantages[0]!, [0, 0, shared01, 0, a[0], a[0]])).toBeLessThan(1e-6);
    expect(maxDifference(output!.advantages[1]!, [0, 0, shared01, 0, a[1]])).toBeLessThan(1e-6);
    expect(maxDifference(output!.advantages[2]!, [0, 0, shared23, shared23, shared23, a[2]])).toBeLessThan(
      1e-6,
    );
    expect(
      maxDifference(output!.advantages[3]!, [0, 0, shared23, shared23, shared23, a[3], a[3]]),
    ).toBeLessThan(1e-6);
    expect(shared01).toBeCloseTo(-0.499999, 6);
  });

  it('emits each shared span once with its averaged advantage', () => {
    const output = estimateArpoHardSpans(workedGroup());
    expect(output.groupId).toBe('worked');
    expect(maxDifference(output.trajectoryAdvantages, a)).toBeLessThan(1e-12);
    expect(
      output.spans.map((span) => [span.nodeId, span.start, span.end, span.trajectoryIndices.length]),
    ).toEqual([
      [0, 0, 2, 4],
      [1, 2, 4, 2],
      [2, 2, 5, 2],
      [3, 4, 6, 1],
      [4, 4, 5, 1],
      [5, 5, 6, 1],
      [6, 5, 7, 1],
    ]);
    const shared = output.spans[1]!;
    expect(shared.advantage).toBeCloseTo((a[0] + a[1]) / 2, 12);
    expect(maxDifference(shared.advantages, [shared.advantage, 0])).toBeLessThan(1e-6);
    expect(output.nodeAdvantages[0]).toBeCloseTo(0, 12);
    // Shared tokens appear once: 2 + 2 + 3 + 2 + 1 + 1 + 2 = 13 tokens instead of 6 + 5 + 6 + 7 = 24.
    expect(output.spans.reduce((sum, span) => sum + span.advantages.length, 0)).toBe(13);
  });

  it('equals grpo without a tree and on the independent tree', () => {
    const group: AdvantageGroupInput = {
      id: 'g',
      scores: [0.2, 0.9, 0.4],
      lossMasks: [Uint8Array.of(1, 0, 1), Uint8Array.of(1), Uint8Array.of(0, 1, 1, 1)],
    };
    const trajectories = group.lossMasks.map((mask) => ({ responseTokenIds: new Int32Array(mask.length) }));
    const tree = independentTree('g', trajectories as never);
    expect(estimateArpoHard([group])).toEqual(estimateGrpo([group]));
    expect(estimateArpoHard([{ ...group, tree }])).toEqual(estimateGrpo([group]));
  });

  it('equals grpo on random trees without shared spans (property)', () => {
    fc.assert(
      fc.property(treeCase, ([seed, scores]) => {
        const group = randomTreeGroup({ seed, count: scores.length, scores, sharedSpans: false });
        expect(rows(estimateArpoHard([group]))).toEqual(rows(estimateGrpo([group])));
      }),
    );
  });

  it('span output agrees with the per-trajectory output and conserves the advantage mass (property)', () => {
    fc.assert(
      fc.property(treeCase, ([seed, scores]) => {
        const group = randomTreeGroup({ seed, count: scores.length, scores, sharedSpans: true });
        const [perTrajectory] = estimateArpoHard([group]);
        const spans = estimateArpoHardSpans(group);
        for (const span of spans.spans) {
          for (const trajectory of span.trajectoryIndices) {
            const row = perTrajectory!.advantages[trajectory]!.subarray(span.start, span.end);
            expect(Array.from(row)).toEqual(Array.from(span.advantages));
          }
        }
        // Each node's advantage times its multiplicity sums the GRPO advantages of its trajectories.
        for (const node of group.tree!.nodes) {
          const sum = node.trajectoryIndices.reduce(
            (total, index) => total + spans.trajectoryAdvantages[index]!,
            0,
          );
          expect(spans.nodeAdvantages[node.id]! * node.trajectoryIndices.length).toBeCloseTo(sum, 9);
        }
      }),
    );
  });

  it('rejects trees that do not match the group with InvalidArgumentError', () => {
    const base = workedGroup();
    const nodes = base.tree!.nodes;
    const variants: { name: string; tree: RolloutTree; lossMasks?: Uint8Array[]; message: RegExp }[] = [
      {
        name: 'trajectory index out of range',
        tree: {
          ...base.tree!,
          nodes: nodes.map((node) => (node.id === 3 ? { ...node, trajectoryIndices: [9] } : node)),
        },
        message: /outside the group's 4 trajectories/,
      },
      {
        name: 'path shorter than the mask',
        tree: { ...base.tree!, nodes: nodes.map((node) => (node.id === 6 ? { ...node, end: 6 } : node)) },
        message: /covers 6 tokens but its loss mask has 7/,
      },
      {
        name: 'gap between parent and child',
        tree: { ...base.tree!, nodes: nodes.map((node) => (node.id === 4 ? { ...node, start: 3 } : node)) },
        message: /starts at 3, expected 4/,
      },
      {
        name: 'node id not its index',
        tree: { ...base.tree!, nodes: nodes.map((node) => (node.id === 2 ? { ...node, id: 7 } : node)) },
        message: /must equal its index 2/,
      },
    ];
    for (const variant of variants) {
      let thrown: unknown;
      try {
        estimateArpoHard([{ ...base, tree: variant.tree }]);
      } catch (error) {
        thrown = error;
      }
      expect(InvalidArgumentError.isInstance(thrown), variant.name).toBe(true);
      expect((thrown as Error).message, variant.name).toMatch(variant.message);
    }
  });

  it('refuses to emit a shared span whose trajectories disagree on the mask', () => {
    const base = workedGroup();
    const lossMasks = base.lossMasks.map((mask) => mask.slice());
    lossMasks[1]![3] = 1;
    expect(() => estimateArpoHardSpans({ ...base, lossMasks })).toThrow(/masks differ at position 3/);
    // The per-trajectory form has no such ambiguity and still works.
    expect(estimateArpoHard([{ ...base, lossMasks }])[0]!.advantages[1]![3]).toBeCloseTo(
      (a[0] + a[1]) / 2,
      6,
    );
  });
});

describe("arpo_hard with sharedTokens: 'once' (through the registry)", () => {
  const once = (group: AdvantageGroupInput) =>
    getAdvantageEstimator('arpo_hard').estimate([group], { sharedTokens: 'once' })[0] as ArpoHardOnceOutput;

  it('puts each shared span only in the row of its first trajectory, with a loss mask saying so', () => {
    const output = once(workedGroup());
    const shared01 = (a[0] + a[1]) / 2;
    const shared23 = (a[2] + a[3]) / 2;
    // Node 0 [0,2) and node 1 [2,4) belong to trajectory 0's row, node 2 [2,5) to trajectory 2's.
    expect(output.lossMasks.map((mask) => Array.from(mask))).toEqual([
      [1, 1, 1, 0, 1, 1],
      [0, 0, 0, 0, 1],
      [0, 0, 1, 1, 1, 1],
      [0, 0, 0, 0, 0, 1, 1],
    ]);
    expect(maxDifference(output.advantages[0]!, [0, 0, shared01, 0, a[0], a[0]])).toBeLessThan(1e-6);
    expect(maxDifference(output.advantages[1]!, [0, 0, 0, 0, a[1]])).toBeLessThan(1e-6);
    expect(maxDifference(output.advantages[2]!, [0, 0, shared23, shared23, shared23, a[2]])).toBeLessThan(
      1e-6,
    );
    expect(maxDifference(output.advantages[3]!, [0, 0, 0, 0, 0, a[3], a[3]])).toBeLessThan(1e-6);
    expect(output.returns).toBe(output.advantages);
    expect(output.spans.map((span) => span.nodeId)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // 12 policy tokens trained instead of 6 + 4 + 6 + 7 = 23 (position 3 is a tool token).
    expect(output.lossMasks.reduce((sum, mask) => sum + mask.reduce((total, bit) => total + bit, 0), 0)).toBe(
      12,
    );
    // The default emission is unchanged: every row carries its shared tokens and no mask override.
    const perTrajectory = arpoHardEstimator.estimate([workedGroup()], { sharedTokens: 'per-trajectory' })[0]!;
    expect(perTrajectory.lossMasks).toBeUndefined();
    expect(perTrajectory.advantages[1]![2]).toBeCloseTo(shared01, 6);
  });

  it('trains every tree token exactly once with its per-trajectory value (property)', () => {
    fc.assert(
      fc.property(treeCase, ([seed, scores]) => {
        const group = randomTreeGroup({ seed, count: scores.length, scores, sharedSpans: true });
        const output = once(group);
        const [perTrajectory] = estimateArpoHard([group]);
        for (const node of group.tree!.nodes) {
          for (let position = node.start; position < node.end; position++) {
            const owners = node.trajectoryIndices.filter((index) => output.lossMasks[index]![position] === 1);
            const policyToken = group.lossMasks[node.trajectoryIndices[0]!]![position] === 1;
            // A policy token is trained in exactly one row, a tool token in none.
            expect(owners).toEqual(policyToken ? [node.trajectoryIndices[0]] : []);
            for (const index of node.trajectoryIndices) {
              const expected = index === owners[0] ? perTrajectory!.advantages[index]![position] : 0;
              expect(output.advantages[index]![position]).toBe(expected);
            }
          }
        }
      }),
    );
  });

  it('validates the option and names the mask that makes a shared span ambiguous', () => {
    expect(() => arpoHardEstimator.estimate([workedGroup()], { sharedTokens: 'twice' } as never)).toThrow(
      ValidationError,
    );
    expect(() => arpoHardEstimator.estimate([workedGroup()], { sharedTokens: 'twice' } as never)).toThrow(
      /sharedTokens/,
    );
    // grpo has no such option: a typo'd estimator name with this option fails loudly rather than ignoring it.
    expect(() => grpoEstimator.estimate([workedGroup()], { sharedTokens: 'once' } as never)).toThrow(
      /sharedTokens/,
    );
    const base = workedGroup();
    const lossMasks = base.lossMasks.map((mask) => mask.slice());
    lossMasks[1]![3] = 1;
    let thrown: unknown;
    try {
      estimateArpoHard([workedGroup(), { ...base, lossMasks }], { sharedTokens: 'once' });
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect((thrown as InvalidArgumentError).argument).toBe('groups[1].lossMasks[1][3]');
  });
});
