import { createArpoTagProtocol } from '@arpo/sandbox';
import { createScriptedPolicy, createScriptedTool } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { sampleArpo, sampleIndependent } from '../src/index.js';
import { prompt, resultsIn, tokenizer } from './helpers.js';

// The protocol's per-tool limits (createCallBudget from @arpo/sandbox) are enforced by the agent loop, on top of
// its own total maxToolCalls, with the reference behaviour: the turn that goes over runs nothing, EOS is appended
// (loss mask 0) and the trajectory ends `tool-limit`.
const turns = ['<python>1</python>', '<search>cats</search>', '<python>2</python>', '<answer>done</answer>'];

function environment(callLimits?: { perTool?: Record<string, number>; total?: number }) {
  const python = createScriptedTool({ name: 'python', respond: () => 'ran' });
  const search = createScriptedTool({ name: 'search', respond: () => 'found' });
  return {
    python,
    search,
    environment: {
      policy: createScriptedPolicy({ respond: (context) => turns[resultsIn(context)] ?? '' }),
      tools: [python, search],
      protocol: createArpoTagProtocol(callLimits === undefined ? {} : { callLimits }),
    },
  };
}

describe("the protocol's per-trajectory call budget", () => {
  it('ends a trajectory with EOS when a per-tool limit is exceeded, before the total limit is reached', async () => {
    const limited = environment({ perTool: { python: 1 } });
    const [group] = await sampleIndependent({
      environment: limited.environment,
      prompts: [prompt('a')],
      n: 2,
      settings: { seed: 1, maxToolCalls: 3 },
    });
    for (const trajectory of group!.trajectories) {
      expect(trajectory.finishReason).toBe('tool-limit');
      expect(trajectory.metrics.toolCalls).toBe(2);
      expect(trajectory.responseTokenIds.at(-1)).toBe(tokenizer.specialTokens.eos);
      expect(trajectory.lossMask.at(-1)).toBe(0);
      const last = trajectory.segments.at(-1)!;
      expect(last.kind).toBe('tool');
      if (last.kind === 'tool') {
        expect(last.calls).toHaveLength(1);
        expect(last.calls[0]).toMatchObject({
          toolName: 'python',
          error: { code: 'call-limit', message: expect.stringContaining('at most 1 python calls') },
        });
      }
    }
    expect(limited.python.calls).toHaveLength(2);
    expect(limited.search.calls).toHaveLength(2);
    // Without limits the same script makes all three calls and answers.
    const free = environment();
    const [unlimited] = await sampleIndependent({
      environment: free.environment,
      prompts: [prompt('a')],
      n: 1,
      settings: { seed: 1, maxToolCalls: 3 },
    });
    expect(unlimited!.trajectories[0]!.finishReason).toBe('eos');
    expect(free.python.calls).toHaveLength(2);
  });

  it("honours the protocol's total limit and onToolLimit 'stop'", async () => {
    const limited = environment({ total: 1 });
    const [group] = await sampleIndependent({
      environment: limited.environment,
      prompts: [prompt('a')],
      n: 1,
      settings: { seed: 1, onToolLimit: 'stop' },
    });
    const trajectory = group!.trajectories[0]!;
    expect(trajectory.finishReason).toBe('tool-limit');
    expect(trajectory.metrics.toolCalls).toBe(1);
    expect(trajectory.responseTokenIds.at(-1)).not.toBe(tokenizer.specialTokens.eos);
    expect(limited.search.calls).toHaveLength(0);
  });

  it("counts a branch's shared calls against the branch's own budget", async () => {
    const limited = environment({ perTool: { python: 1 } });
    const [group] = await sampleArpo({
      environment: limited.environment,
      prompts: [prompt('a')],
      settings: { seed: 1 },
      // alpha 1, beta 0: the first call forks for sure.
      arpo: { mode: 'reference', trajectories: 2, initial: 1, alpha: 1, beta: 0 },
    });
    expect(group!.trajectories.map((trajectory) => trajectory.metrics.parentIndex)).toEqual([undefined, 0]);
    // Both hold the shared python call, so neither may make a second one.
    for (const trajectory of group!.trajectories) {
      expect(trajectory.finishReason).toBe('tool-limit');
      expect(trajectory.metrics.toolCalls).toBe(2);
    }
    expect(limited.python.calls).toHaveLength(1);
    expect(limited.search.calls).toHaveLength(2);
  });
});
