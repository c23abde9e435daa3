import { InvalidArgumentError, independentTree, type RolloutGroup, type Trajectory } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { filterGroupsBySpread, hasMetricSpread } from './dynamic-sampling.js';

function trajectory(id: string, acc: number, total: number): Trajectory {
  return {
    id,
    promptId: 'p',
    promptTokenIds: new Int32Array(0),
    responseTokenIds: new Int32Array(2),
    logprobs: new Float32Array(2),
    entropies: new Float32Array(2),
    lossMask: Uint8Array.of(1, 1),
    segments: [],
    finishReason: 'eos',
    reward: { total, components: { acc } },
    metrics: {},
  };
}

function group(promptId: string, values: [acc: number, total: number][]): RolloutGroup {
  const trajectories = values.map(([acc, total], index) => trajectory(`${promptId}-${index}`, acc, total));
  return {
    promptId,
    trajectories,
    tree: independentTree(promptId, trajectories),
    statistics: { computedTokens: 0, reusedTokens: 0, toolCalls: 0 },
  };
}

describe('DAPO dynamic sampling', () => {
  it('detects spread exactly', () => {
    expect(hasMetricSpread([0.1, 0.1, 0.1])).toBe(false);
    expect(hasMetricSpread([0, 1])).toBe(true);
    expect(hasMetricSpread([])).toBe(false);
  });

  it('filters on the raw metric, not the shaped reward', () => {
    const groups = [
      // All correct, but the overlong penalty made the totals differ: no accuracy spread, dropped.
      group('all-correct', [
        [1, 1],
        [1, 0.4],
      ]),
      group('mixed', [
        [1, 1],
        [0, 0],
      ]),
      group('all-wrong', [
        [0, 0],
        [0, 0],
      ]),
      group('single', [[1, 1]]),
    ];
    const result = filterGroupsBySpread(groups);
    expect(result.kept.map((kept) => kept.promptId)).toEqual(['mixed', 'single']);
    expect(result.keptIndices).toEqual([1, 3]);
    expect(result.dropped.map((dropped) => dropped.promptId)).toEqual(['all-correct', 'all-wrong']);
    // Filtering on the shaped total instead would keep the all-correct group.
    const byTotal = filterGroupsBySpread(groups, { metric: (t) => t.reward!.total, keepSingletons: false });
    expect(byTotal.kept.map((kept) => kept.promptId)).toEqual(['all-correct', 'mixed']);
  });

  it('names a trajectory whose metric is missing', () => {
    let thrown: unknown;
    try {
      filterGroupsBySpread([group('g', [[1, 1]])], { metric: 'f1' });
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect((thrown as InvalidArgumentError).argument).toBe('groups[0].trajectories[0]');
    expect(String(thrown)).toMatch(/reward.components.f1 is undefined/);
  });
});
