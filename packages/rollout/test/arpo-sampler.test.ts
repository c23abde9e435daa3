import { createRandom, deriveSeed, parse, rolloutTreeSchema, trajectoryPaths } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { rolloutGroupToJson, sampleArpo } from '../src/index.js';
import { callingPolicy, prompt, pythonTool, resultsIn, testProtocol, tokenizer } from './helpers.js';

/** Every trajectory's response must equal the concatenation of its path's spans, shared spans identical. */
function expectSharedSpansIdentical(group: Awaited<ReturnType<typeof sampleArpo>>[number]) {
  parse(rolloutTreeSchema, group.tree);
  for (const node of group.tree.nodes) {
    const [first, ...rest] = node.trajectoryIndices.map((index) =>
      Array.from(group.trajectories[index]!.responseTokenIds.subarray(node.start, node.end)),
    );
    for (const other of rest) expect(other).toEqual(first);
  }
  const paths = trajectoryPaths(group.tree, group.trajectories.length);
  paths.forEach((path, index) => {
    const leaf = group.tree.nodes[path.at(-1)!]!;
    expect(leaf.end).toBe(group.trajectories[index]!.responseTokenIds.length);
  });
}

describe('ARPO sampler, reference mode', () => {
  // Turn entropy per token: 0.1 before any tool result, then 0.5, then 0.9.
  const entropy = (context: Parameters<typeof resultsIn>[0]) => [0.1, 0.5, 0.9][resultsIn(context)] ?? 0.9;

  it('branches iff clamp(u - beta*dH, 0, 1) <= alpha, in creation order, never above M, then refills one per round', async () => {
    const tool = pythonTool();
    const [group] = await sampleArpo({
      environment: { policy: callingPolicy({ calls: 2, entropy }), tools: [tool], protocol: testProtocol },
      prompts: [prompt('a')],
      settings: { seed: 3 },
      // alpha 0, beta 1: dH = 0 never branches (u > 0), dH = 20*0.4/ln 259 = 1.44 always does.
      arpo: { mode: 'reference', trajectories: 5, initial: 2, branchesPerFork: 1, alpha: 0, beta: 1 },
    });
    expect(group!.trajectories).toHaveLength(5);
    // Trajectories 0 and 1 fork (in that order) after their second tool result; 4 is the refill.
    expect(group!.trajectories.map((trajectory) => trajectory.metrics.parentIndex)).toEqual([
      undefined,
      undefined,
      0,
      1,
      undefined,
    ]);
    const forks = group!.tree.nodes.filter((node) => node.fork !== undefined);
    expect(forks).toHaveLength(2);
    const expectedDelta = (20 * 0.4) / Math.log(tokenizer.vocabularySize);
    for (const fork of forks) {
      expect(fork.fork!.entropyDelta).toBeCloseTo(expectedDelta, 5);
      expect(fork.fork!.probability).toBe(1);
    }
    // Shared calls run once: 3 root trajectories x 2 calls, although 5 trajectories hold 10 calls.
    expect(group!.statistics.toolCalls).toBe(6);
    expect(tool.calls).toHaveLength(6);
    expect(
      group!.trajectories.reduce((sum, trajectory) => sum + (trajectory.metrics.toolCalls ?? 0), 0),
    ).toBe(10);
    expect(group!.tree.nodes).toHaveLength(8);
    expect(group!.statistics.reusedTokens).toBeGreaterThan(0);
    expectSharedSpansIdentical(group!);
    for (const trajectory of group!.trajectories) expect(trajectory.finishReason).toBe('eos');
  });

  it('draws u from the seeded stream: the number of forks matches a replay of the rule', async () => {
    const budget = 16;
    const [group] = await sampleArpo({
      environment: { policy: callingPolicy({ calls: 1 }), tools: [pythonTool()], protocol: testProtocol },
      prompts: [prompt('a')],
      settings: { seed: 11 },
      arpo: { mode: 'reference', trajectories: budget, initial: 1 },
    });
    // Replay: each fresh trajectory makes one call with dH = 0, so it branches iff u <= alpha = 0.5.
    const random = createRandom({ seed: 11 }).derive('arpo/a');
    let count = 1;
    let forks = 0;
    for (;;) {
      if (count >= budget) break;
      if (random.next() <= 0.5) {
        count += 1;
        forks += 1;
      }
      if (count >= budget) break;
      count += 1;
    }
    expect(group!.trajectories).toHaveLength(budget);
    expect(group!.tree.nodes.filter((node) => node.fork !== undefined)).toHaveLength(forks);
    expect(forks).toBeGreaterThan(2);
    expect(forks).toBeLessThan(14);
    expectSharedSpansIdentical(group!);
  });

  it('gives the same trees for the same seed', async () => {
    const run = async () =>
      (
        await sampleArpo({
          environment: {
            policy: callingPolicy({ calls: 2, entropy }),
            tools: [pythonTool()],
            protocol: testProtocol,
          },
          prompts: [prompt('a'), prompt('b')],
          settings: { seed: 5 },
          arpo: { trajectories: 8, initial: 4 },
        })
      ).map((group) => JSON.stringify(rolloutGroupToJson(group, { tokenizer })));
    expect(await run()).toEqual(await run());
  });
});

describe('ARPO sampler, paper mode', () => {
  const seedOf = (index: number) => deriveSeed(9, `a/${index}/1`);
  // Turn 0 has entropy 0.1; the turn after the tool result has a seed-dependent entropy in [0.2, 1.2).
  const entropy = (context: Parameters<typeof resultsIn>[0]) =>
    resultsIn(context) === 0 ? 0.1 : 0.2 + ((context.seed ?? 0) % 1000) / 1000;

  it('forks from just after the tool result, giving the slot to the highest entropy rise', async () => {
    const [group] = await sampleArpo({
      environment: {
        policy: callingPolicy({ calls: 1, entropy }),
        tools: [pythonTool()],
        protocol: testProtocol,
      },
      prompts: [prompt('a')],
      settings: { seed: 9 },
      arpo: { mode: 'paper', trajectories: 3, initial: 2, branchesPerFork: 1 },
    });
    const winner = seedOf(0) % 1000 > seedOf(1) % 1000 ? 0 : 1;
    expect(group!.trajectories).toHaveLength(3);
    const branch = group!.trajectories[2]!;
    expect(branch.metrics.parentIndex).toBe(winner);
    const parent = group!.trajectories[winner]!;
    const toolSegment = parent.segments.find((segment) => segment.kind === 'tool')!;
    expect(branch.metrics.forkedAt).toBe(toolSegment.end);
    const fork = group!.tree.nodes.find((node) => node.fork !== undefined)!;
    expect(fork.fork!.entropyDelta).toBeCloseTo(0.1 + (seedOf(winner) % 1000) / 1000, 5);
    expectSharedSpansIdentical(group!);
  });

  it('does not branch when P <= tau and fills the remaining budget with fresh trajectories at once', async () => {
    const falling = (context: Parameters<typeof resultsIn>[0]) => (resultsIn(context) === 0 ? 0.9 : 0.1);
    const [group] = await sampleArpo({
      environment: {
        policy: callingPolicy({ calls: 1, entropy: falling }),
        tools: [pythonTool()],
        protocol: testProtocol,
      },
      prompts: [prompt('a')],
      settings: { seed: 9 },
      arpo: { mode: 'paper', trajectories: 6, initial: 2 },
    });
    expect(group!.trajectories).toHaveLength(6);
    expect(group!.tree.nodes.some((node) => node.fork !== undefined)).toBe(false);
    expect(group!.trajectories.every((trajectory) => trajectory.metrics.parentIndex === undefined)).toBe(
      true,
    );
  });

  it('rejects N > M', async () => {
    await expect(
      sampleArpo({
        environment: { policy: callingPolicy({ calls: 1 }), tools: [], protocol: testProtocol },
        prompts: [prompt('a')],
        settings: { seed: 1 },
        arpo: { trajectories: 4, initial: 8 },
      }),
    ).rejects.toThrow(/initial/);
  });
});
