import { createRandom, deriveSeed, parse, rolloutTreeSchema, trajectoryPaths } from '@arpo/core';
import { createScriptedPolicy, type ScriptContext } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { type ArpoSamplerOptions, rolloutGroupToJson, sampleArpo } from '../src/index.js';
import { callingPolicy, prompt, pythonTool, resultsIn, testProtocol, tokenizer } from './helpers.js';

type Group = Awaited<ReturnType<typeof sampleArpo>>[number];

const parents = (group: Group) => group.trajectories.map((trajectory) => trajectory.metrics.parentIndex);
const forkNodes = (group: Group) => group.tree.nodes.filter((node) => node.fork !== undefined);

/** Every model token has loss mask 1, every tool token 0, in every trajectory (branches included). */
function expectMasks(group: Group) {
  for (const trajectory of group.trajectories) {
    expect(trajectory.segments.at(-1)?.end).toBe(trajectory.responseTokenIds.length);
    for (const segment of trajectory.segments) {
      const mask = Array.from(trajectory.lossMask.subarray(segment.start, segment.end));
      expect(mask).toEqual(new Array(mask.length).fill(segment.kind === 'model' ? 1 : 0));
    }
  }
}

/** Every trajectory's response must equal the concatenation of its path's spans, shared spans identical. */
function expectSharedSpansIdentical(group: Group) {
  parse(rolloutTreeSchema, group.tree);
  for (const node of group.tree.nodes) {
    for (const field of ['responseTokenIds', 'lossMask', 'logprobs'] as const) {
      const [first, ...rest] = node.trajectoryIndices.map((index) =>
        Array.from(group.trajectories[index]![field].subarray(node.start, node.end)),
      );
      for (const other of rest) expect(other).toEqual(first);
    }
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

describe('ARPO sampler, reference mode: entropy and slots', () => {
  it('measures the top-10 truncated entropy over the first k = 20 positions, normalised by ln|V|', async () => {
    // Per-token entropies are constant, so a fallback to them would give dH = 0: only the top logprobs move.
    // Each position offers 12 alternatives (peaked in the first turn, flat in the second); positions from 20 on
    // differ, so k and top-10 both matter.
    const topLogprobs = (turn: number, position: number) =>
      Array.from(
        { length: 12 },
        (_, rank) => (turn === 0 ? -0.05 - 3 * rank : -1.3 - 0.35 * rank) - (position >= 20 ? 2 : 0),
      );
    const policy = createScriptedPolicy({
      respond: (context) =>
        resultsIn(context) < 2
          ? `<think>step ${resultsIn(context)} s${context.seed ?? 0}</think><python>x=${resultsIn(context)}</python>`
          : '<answer>done</answer>',
      entropy: () => 0.3,
      topLogprobs: (context, position) => topLogprobs(resultsIn(context), position),
    });
    const [group] = await sampleArpo({
      environment: { policy, tools: [pythonTool()], protocol: testProtocol },
      prompts: [prompt('a')],
      settings: { seed: 2 },
      // alpha 0, beta 1000: dH = 0 (the first call) never branches, any clear rise always does.
      arpo: { mode: 'reference', trajectories: 2, initial: 1, alpha: 0, beta: 1000 },
    });
    const turnEntropy = (turn: number) => {
      let total = 0;
      for (let position = 0; position < 20; position++)
        for (const logprob of topLogprobs(turn, position).slice(0, 10)) {
          const stored = Math.fround(logprob);
          total -= Math.exp(stored) * stored;
        }
      return total / Math.log(tokenizer.vocabularySize);
    };
    const [fork] = forkNodes(group!);
    expect(forkNodes(group!)).toHaveLength(1);
    expect(fork!.fork!.entropy).toBeCloseTo(turnEntropy(1), 5);
    expect(fork!.fork!.entropyDelta).toBeCloseTo(turnEntropy(1) - turnEntropy(0), 5);
    expect(fork!.fork!.entropyDelta).toBeGreaterThan(0.1);
    expect(parents(group!)).toEqual([undefined, 0]);
  });

  it('with one slot left gives it to the earlier trajectory even when a later one has the higher dH', async () => {
    const seed = 4;
    const callTurnEntropy = new Map([
      [deriveSeed(seed, 'a/0/1'), 0.3],
      [deriveSeed(seed, 'a/1/1'), 0.9],
    ]);
    const entropy = (context: ScriptContext) =>
      resultsIn(context) === 0 ? 0.1 : (callTurnEntropy.get(context.seed ?? 0) ?? 0.1);
    const [group] = await sampleArpo({
      environment: {
        policy: callingPolicy({ calls: 2, entropy }),
        tools: [pythonTool()],
        protocol: testProtocol,
      },
      prompts: [prompt('a')],
      settings: { seed },
      // alpha 0, beta 2: both second calls branch for sure (2·dH > 1); the first calls (dH = 0) never do.
      arpo: { mode: 'reference', trajectories: 3, initial: 2, alpha: 0, beta: 2 },
    });
    expect(parents(group!)).toEqual([undefined, undefined, 0]);
    const [fork] = forkNodes(group!);
    expect(forkNodes(group!)).toHaveLength(1);
    expect(fork!.fork!.entropyDelta).toBeCloseTo((20 * 0.2) / Math.log(tokenizer.vocabularySize), 5);
    expectMasks(group!);
    expectSharedSpansIdentical(group!);
  });
});

describe('ARPO sampler: Z branches per fork and the budget M', () => {
  /** One call per trajectory; alpha 1, beta 0: every call forks (as long as the budget allows). */
  const sampleAlwaysForking = async (arpo: ArpoSamplerOptions, settings: { maxRounds?: number } = {}) => {
    const [group] = await sampleArpo({
      environment: { policy: callingPolicy({ calls: 1 }), tools: [pythonTool()], protocol: testProtocol },
      prompts: [prompt('a')],
      settings: { seed: 1, ...settings },
      arpo: { mode: 'reference', alpha: 1, beta: 0, ...arpo },
    });
    return group!;
  };

  it('M = 7, N = 2, Z = 5: the first fork takes all five slots, never above M', async () => {
    const group = await sampleAlwaysForking({ trajectories: 7, initial: 2, branchesPerFork: 5 });
    expect(parents(group)).toEqual([undefined, undefined, 0, 0, 0, 0, 0]);
    expect(forkNodes(group).map((node) => node.fork!.branches)).toEqual([5]);
    expect(group.trajectories.every((trajectory) => trajectory.finishReason === 'eos')).toBe(true);
    expectMasks(group);
    expectSharedSpansIdentical(group);
  });

  it('M = 16, N = 8, Z = 3: forks of 3, 3 and the remaining 2, filled to exactly M', async () => {
    const group = await sampleAlwaysForking({ trajectories: 16, initial: 8, branchesPerFork: 3 });
    expect(group.trajectories).toHaveLength(16);
    expect(parents(group)).toEqual([...new Array(8).fill(undefined), 0, 0, 0, 1, 1, 1, 2, 2]);
    expect(forkNodes(group).map((node) => node.fork!.branches)).toEqual([3, 3, 2]);
    expectMasks(group);
    expectSharedSpansIdentical(group);
  });

  it('M = 7, N = 2, Z = 2: forks leave one slot, which the refill fills', async () => {
    const group = await sampleAlwaysForking({ trajectories: 7, initial: 2, branchesPerFork: 2 });
    expect(parents(group)).toEqual([undefined, undefined, 0, 0, 1, 1, undefined]);
    expect(group.trajectories[6]!.segments.map((segment) => segment.kind)).toEqual([
      'model',
      'tool',
      'model',
    ]);
    expectMasks(group);
  });

  it('starts and forks nothing in the last allowed round (such trajectories could never generate)', async () => {
    // Reference refill: one fresh trajectory per round once all have finished; each answers in one turn.
    const answering = createScriptedPolicy({ respond: () => '<answer>done</answer>' });
    const [refilled] = await sampleArpo({
      environment: { policy: answering, tools: [], protocol: testProtocol },
      prompts: [prompt('a')],
      settings: { seed: 1, maxRounds: 3 },
      arpo: { mode: 'reference', trajectories: 6, initial: 1 },
    });
    expect(refilled!.trajectories).toHaveLength(3);
    for (const trajectory of refilled!.trajectories) {
      expect(trajectory.finishReason).toBe('eos');
      expect(trajectory.responseTokenIds.length).toBeGreaterThan(0);
    }
    expect(refilled!.statistics.rounds).toBe(3);
    // A fork after the only round's tool result would be a copy of its parent, cut at the same point.
    const unforked = await sampleAlwaysForking({ trajectories: 4, initial: 1 }, { maxRounds: 1 });
    expect(unforked.trajectories).toHaveLength(1);
    expect(unforked.trajectories[0]!.finishReason).toBe('length');
    expect(forkNodes(unforked)).toHaveLength(0);
    // One round more and the same rollout forks.
    const forked = await sampleAlwaysForking({ trajectories: 4, initial: 1 }, { maxRounds: 2 });
    expect(forkNodes(forked)).toHaveLength(1);
    expect(forked.trajectories.every((trajectory) => trajectory.finishReason === 'eos')).toBe(true);
  });
});

describe('ARPO sampler, paper mode: threshold and baselines', () => {
  it('does not branch at P exactly tau (the rule is P > tau)', async () => {
    // dH = 0.75 - 0.25 = 0.5 and P = 0.25 + 0.5 * 0.5 = 0.5, all exact in floating point.
    const entropy = (context: ScriptContext) => (resultsIn(context) === 0 ? 0.25 : 0.75);
    const run = (threshold: number) =>
      sampleArpo({
        environment: {
          policy: callingPolicy({ calls: 1, entropy }),
          tools: [pythonTool()],
          protocol: testProtocol,
        },
        prompts: [prompt('a')],
        settings: { seed: 1 },
        arpo: { mode: 'paper', trajectories: 3, initial: 2, alpha: 0.25, beta: 0.5, threshold },
      });
    const [atThreshold] = await run(0.5);
    expect(forkNodes(atThreshold!)).toHaveLength(0);
    const [below] = await run(0.4999);
    expect(forkNodes(below!)).toHaveLength(1);
    expect(forkNodes(below!)[0]!.fork!.probability).toBe(0.5);
  });

  it("measures a branch's later forks against its parent's initial entropy", async () => {
    // Turn entropy 0.1 before any result, 0.6 after the first, 0.9 after the second.
    const entropy = (context: ScriptContext) => [0.1, 0.6, 0.9][resultsIn(context)] ?? 0.9;
    const [group] = await sampleArpo({
      environment: {
        policy: callingPolicy({ calls: 2, entropy }),
        tools: [pythonTool()],
        protocol: testProtocol,
      },
      prompts: [prompt('a')],
      settings: { seed: 1 },
      arpo: { mode: 'paper', trajectories: 4, initial: 1 },
    });
    // 0 forks 1 (dH 0.5) and 2 (dH 0.8); branch 1, which never generated a first turn of its own, forks 3
    // with dH = 0.9 - 0.1 measured against the inherited baseline (without it dH = 0, P = 0.5, no fork).
    expect(parents(group!)).toEqual([undefined, 0, 0, 1]);
    // The fork node of a branch ends at the branch's fork point and contains it.
    const forkOf = (child: number) =>
      group!.tree.nodes.find(
        (node) =>
          node.fork !== undefined &&
          node.end === group!.trajectories[child]!.metrics.forkedAt &&
          node.trajectoryIndices.includes(child),
      )!.fork!;
    expect(forkOf(1).entropyDelta).toBeCloseTo(0.5, 5);
    expect(forkOf(2).entropyDelta).toBeCloseTo(0.8, 5);
    expect(forkOf(3).entropyDelta).toBeCloseTo(0.8, 5);
    expectMasks(group!);
    expectSharedSpansIdentical(group!);
  });

  it("resets the initial entropy for every batch: a second batch does not reuse the first one's baselines", async () => {
    let batch = 0;
    // Batch 0: first turn 0.9, then 0.1 (falling, no fork). Batch 1: first turn 0.1, then 0.6 (dH 0.5, forks).
    const entropy = (context: ScriptContext) =>
      batch === 0 ? (resultsIn(context) === 0 ? 0.9 : 0.1) : resultsIn(context) === 0 ? 0.1 : 0.6;
    const policy = callingPolicy({ calls: 1, entropy });
    const run = () =>
      sampleArpo({
        environment: { policy, tools: [pythonTool()], protocol: testProtocol },
        prompts: [prompt('a')],
        settings: { seed: 1 },
        arpo: { mode: 'paper', trajectories: 2, initial: 1 },
      });
    const [first] = await run();
    expect(forkNodes(first!)).toHaveLength(0);
    batch = 1;
    const [second] = await run();
    // Against a stale baseline of 0.9 the rise would be -0.3 (P = 0.44): no fork.
    expect(forkNodes(second!)).toHaveLength(1);
    expect(forkNodes(second!)[0]!.fork!.entropyDelta).toBeCloseTo(0.5, 5);
  });
});
