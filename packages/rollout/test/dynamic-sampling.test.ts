import { independentTree, type RolloutGroup } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { sampleDynamically } from '../src/index.js';
import { prompt } from './helpers.js';

function fakeGroup(
  promptId: string,
  statistics = { computedTokens: 0, reusedTokens: 0, toolCalls: 0 },
): RolloutGroup {
  return { promptId, trajectories: [], tree: independentTree(promptId, []), statistics };
}

describe('DAPO dynamic sampling', () => {
  it('drops zero-spread groups and refills until the batch is full', async () => {
    const prompts = Array.from({ length: 30 }, (_, index) => prompt(`p${index}`));
    const sampled: string[][] = [];
    const result = await sampleDynamically({
      prompts,
      batchSize: 4,
      promptsPerRound: 3,
      sample: async (batch) => {
        sampled.push(batch.map((entry) => entry.promptId));
        return batch.map((entry) => fakeGroup(entry.promptId));
      },
      // Every third prompt has accuracy spread.
      accuracy: (group) => (Number(group.promptId.slice(1)) % 3 === 0 ? [1, 0, 1] : [1, 1, 1]),
    });
    expect(result.groups.map((group) => group.promptId)).toEqual(['p0', 'p3', 'p6', 'p9']);
    expect(result.rounds).toBe(4);
    expect(result.dropped).toBe(8);
    expect(result.filled).toBe(true);
    expect(sampled[1]).toEqual(['p3', 'p4', 'p5']);
  });

  it('reports an unfilled batch when the round limit stops it', async () => {
    const result = await sampleDynamically({
      prompts: Array.from({ length: 30 }, (_, index) => prompt(`p${index}`)),
      batchSize: 2,
      maxRounds: 2,
      sample: async (batch) => batch.map((entry) => fakeGroup(entry.promptId)),
      accuracy: () => [0, 0],
    });
    expect(result).toMatchObject({ groups: [], rounds: 2, filled: false, promptsSampled: 12, dropped: 12 });
  });

  it('keeps single-trajectory groups, as verl does', async () => {
    const result = await sampleDynamically({
      prompts: [prompt('solo')],
      batchSize: 1,
      sample: async (batch) => batch.map((entry) => fakeGroup(entry.promptId)),
      accuracy: () => [1],
    });
    expect(result.groups.map((group) => group.promptId)).toEqual(['solo']);
  });

  it('charges every sampled group to the spend, dropped ones included', async () => {
    const result = await sampleDynamically({
      prompts: Array.from({ length: 12 }, (_, index) => prompt(`p${index}`)),
      batchSize: 2,
      promptsPerRound: 4,
      sample: async (batch) =>
        batch.map((entry) =>
          fakeGroup(entry.promptId, {
            computedTokens: 10 + Number(entry.promptId.slice(1)),
            reusedTokens: 3,
            toolCalls: 2,
          }),
        ),
      // Only p5 and p9 have spread: three rounds of four prompts are needed.
      accuracy: (group) => (['p5', 'p9'].includes(group.promptId) ? [1, 0] : [0, 0]),
    });
    expect(result.groups.map((group) => group.promptId)).toEqual(['p5', 'p9']);
    expect(result.rounds).toBe(3);
    // p0..p11: 12 groups, computed 10·12 + (0 + … + 11) = 186.
    expect(result.spent).toEqual({
      groups: 12,
      trajectories: 0,
      computedTokens: 186,
      reusedTokens: 36,
      toolCalls: 24,
    });
  });
});
