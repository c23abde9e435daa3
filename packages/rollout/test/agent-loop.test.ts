import { parse, rolloutTreeSchema, trajectorySchema } from '@arpo/core';
import { createScriptedPolicy, createScriptedTool } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { sampleIndependent } from '../src/index.js';
import { callingPolicy, prompt, pythonTool, resultsIn, testProtocol, tokenizer } from './helpers.js';

function textOf(ids: ArrayLike<number>) {
  return tokenizer.decode(ids);
}

describe('agent loop (independent sampler)', () => {
  it('alternates model turns and tool results with exact masks, batched across prompts', async () => {
    const tool = pythonTool();
    const groups = await sampleIndependent({
      environment: { policy: callingPolicy({ calls: 2 }), tools: [tool], protocol: testProtocol },
      prompts: [prompt('a'), prompt('b')],
      n: 3,
      settings: { seed: 1 },
    });
    expect(groups.map((group) => group.trajectories.length)).toEqual([3, 3]);
    expect(tool.calls).toHaveLength(12);
    for (const group of groups) {
      expect(group.statistics.toolCalls).toBe(6);
      expect(parse(rolloutTreeSchema, group.tree).nodes).toHaveLength(4);
      for (const trajectory of group.trajectories) {
        parse(trajectorySchema, trajectory);
        expect(trajectory.finishReason).toBe('eos');
        expect(trajectory.segments.map((segment) => segment.kind)).toEqual([
          'model',
          'tool',
          'model',
          'tool',
          'model',
        ]);
        for (const segment of trajectory.segments) {
          const mask = Array.from(trajectory.lossMask.subarray(segment.start, segment.end));
          expect(mask.every((value) => value === (segment.kind === 'model' ? 1 : 0))).toBe(true);
          if (segment.kind === 'tool') {
            expect(textOf(trajectory.responseTokenIds.subarray(segment.start, segment.end))).toMatch(
              /^<result>ran 3<\/result>$/,
            );
            expect(segment.calls[0]).toMatchObject({
              toolName: 'python',
              input: expect.stringMatching(/^x=\d$/),
            });
            expect(
              Array.from(trajectory.logprobs.subarray(segment.start, segment.end)).every(
                (value) => value === 0,
              ),
            ).toBe(true);
          }
        }
        const text = textOf(trajectory.responseTokenIds);
        expect(text).toContain('<python>x=0</python><result>ran 3</result><think>step 1');
        expect(text.endsWith('<answer>\\boxed{2}</answer><eos>')).toBe(true);
        expect(trajectory.metrics.toolCalls).toBe(2);
      }
    }
  });

  it('batches every active trajectory of every prompt into one generate call per round', async () => {
    const policy = callingPolicy({ calls: 2 });
    const generate = policy.generate.bind(policy);
    const batches: string[][] = [];
    policy.generate = (requests, options) => {
      batches.push(requests.map((request) => tokenizer.decode(request.promptTokenIds).slice(0, 8)));
      return generate(requests, options);
    };
    const groups = await sampleIndependent({
      environment: { policy, tools: [pythonTool()], protocol: testProtocol },
      prompts: [prompt('a'), prompt('b'), prompt('c')],
      n: 4,
      settings: { seed: 1 },
    });
    // Two calls then an answer: three rounds, each one call holding all 3 x 4 trajectories.
    expect(batches.map((batch) => batch.length)).toEqual([12, 12, 12]);
    for (const batch of batches) {
      expect(batch.filter((start) => start === '<bos>Q a').length).toBe(4);
      expect(batch.filter((start) => start === '<bos>Q c').length).toBe(4);
    }
    expect(groups.map((group) => group.statistics.rounds)).toEqual([3, 3, 3]);
  });

  it('ends with finish reason stop when a turn ends at a stop string but makes no call', async () => {
    const tool = pythonTool();
    const policy = createScriptedPolicy({ respond: () => 'no call here, just a stray </python> and more' });
    const groups = await sampleIndependent({
      environment: { policy, tools: [tool], protocol: testProtocol },
      prompts: [prompt('a')],
      n: 2,
      settings: { seed: 1 },
    });
    for (const trajectory of groups[0]!.trajectories) {
      expect(trajectory.finishReason).toBe('stop');
      expect(textOf(trajectory.responseTokenIds)).toBe('no call here, just a stray </python>');
      expect(trajectory.segments).toHaveLength(1);
      expect(trajectory.segments[0]).toMatchObject({ kind: 'model', stopString: '</python>' });
    }
    expect(tool.calls).toHaveLength(0);
  });

  it('ends a trajectory with EOS (loss mask 0) when the call limit is exceeded', async () => {
    const groups = await sampleIndependent({
      environment: { policy: callingPolicy({ calls: 10 }), tools: [pythonTool()], protocol: testProtocol },
      prompts: [prompt('a')],
      n: 1,
      settings: { seed: 1, maxToolCalls: 3 },
    });
    const trajectory = groups[0]!.trajectories[0]!;
    expect(trajectory.finishReason).toBe('tool-limit');
    expect(trajectory.metrics.toolCalls).toBe(3);
    const last = trajectory.segments.at(-1)!;
    expect(last.kind).toBe('tool');
    if (last.kind === 'tool') expect(last.calls[0]?.error?.code).toBe('call-limit');
    expect(trajectory.responseTokenIds.at(-1)).toBe(tokenizer.specialTokens.eos);
    expect(trajectory.lossMask.at(-1)).toBe(0);
    const stopped = await sampleIndependent({
      environment: { policy: callingPolicy({ calls: 10 }), tools: [pythonTool()], protocol: testProtocol },
      prompts: [prompt('a')],
      n: 1,
      settings: { seed: 1, maxToolCalls: 1, onToolLimit: 'stop' },
    });
    expect(stopped[0]!.trajectories[0]!.responseTokenIds.at(-1)).not.toBe(tokenizer.specialTokens.eos);
  });

  it('enforces the max response length over model plus tool tokens', async () => {
    const longTool = createScriptedTool({ name: 'python', respond: () => 'y'.repeat(500) });
    const groups = await sampleIndependent({
      environment: { policy: callingPolicy({ calls: 2 }), tools: [longTool], protocol: testProtocol },
      prompts: [prompt('a')],
      n: 2,
      settings: { seed: 1, maxResponseTokens: 100 },
    });
    for (const trajectory of groups[0]!.trajectories) {
      expect(trajectory.finishReason).toBe('length');
      expect(trajectory.responseTokenIds.length).toBe(100);
      parse(trajectorySchema, trajectory);
    }
    const short = await sampleIndependent({
      environment: { policy: callingPolicy({ calls: 2 }), tools: [pythonTool()], protocol: testProtocol },
      prompts: [prompt('a')],
      n: 1,
      settings: { seed: 1, maxResponseTokens: 20 },
    });
    expect(short[0]!.trajectories[0]!.finishReason).toBe('length');
    expect(short[0]!.trajectories[0]!.responseTokenIds.length).toBe(20);
  });

  it('feeds malformed calls, unknown tools and tool failures back as errors without crashing', async () => {
    const policy = createScriptedPolicy({
      respond: (context) =>
        [
          '<python></python>',
          '<python>GARBAGE</python>',
          '<python>boom</python>',
          '<answer>\\boxed{done}</answer>',
        ][resultsIn(context)] ?? '',
    });
    const tool = createScriptedTool({
      name: 'python',
      respond: (input) => {
        if (input === 'boom') throw new Error('kaboom');
        return 'ok';
      },
    });
    const groups = await sampleIndependent({
      environment: { policy, tools: [tool], protocol: testProtocol },
      prompts: [prompt('a')],
      n: 1,
      settings: { seed: 1 },
    });
    const trajectory = groups[0]!.trajectories[0]!;
    expect(trajectory.finishReason).toBe('eos');
    const errors = trajectory.segments.flatMap((segment) =>
      segment.kind === 'tool' ? segment.calls.map((call) => call.error?.code) : [],
    );
    expect(errors).toEqual(['malformed-call', 'malformed-call', 'runtime-error']);
    expect(textOf(trajectory.responseTokenIds)).toContain('<result>error: kaboom</result>');
  });

  it('cuts a tool result that overflows the context', async () => {
    const longTool = createScriptedTool({ name: 'python', respond: () => 'z'.repeat(400) });
    const policy = createScriptedPolicy({
      contextLength: 120,
      respond: (context) => (resultsIn(context) === 0 ? '<python>x</python>' : '<answer>done</answer>'),
    });
    const groups = await sampleIndependent({
      environment: { policy, tools: [longTool], protocol: testProtocol },
      prompts: [prompt('a')],
      n: 1,
      settings: { seed: 1, maxResponseTokens: 1000 },
    });
    const trajectory = groups[0]!.trajectories[0]!;
    expect(trajectory.finishReason).toBe('length');
    expect(trajectory.promptTokenIds.length + trajectory.responseTokenIds.length).toBe(120);
    parse(trajectorySchema, trajectory);
  });

  it('reports an unknown tool to the model', async () => {
    const groups = await sampleIndependent({
      environment: { policy: callingPolicy({ calls: 1 }), tools: [], protocol: testProtocol },
      prompts: [prompt('a')],
      n: 1,
      settings: { seed: 1 },
    });
    const text = textOf(groups[0]!.trajectories[0]!.responseTokenIds);
    expect(text).toContain("<result>error: unknown tool 'python'; available: </result>");
  });

  it('is deterministic for a seed and passes per-turn seeds to the policy', async () => {
    const run = (seed: number) =>
      sampleIndependent({
        environment: { policy: callingPolicy({ calls: 1 }), tools: [pythonTool()], protocol: testProtocol },
        prompts: [prompt('a')],
        n: 2,
        settings: { seed },
      });
    const first = await run(7);
    const again = await run(7);
    const other = await run(8);
    const texts = (groups: typeof first) =>
      groups[0]!.trajectories.map((trajectory) => textOf(trajectory.responseTokenIds));
    expect(texts(again)).toEqual(texts(first));
    expect(texts(other)).not.toEqual(texts(first));
    expect(new Set(texts(first)).size).toBe(2);
  });

  it('rejects bad settings with a typed error naming the field', async () => {
    await expect(
      sampleIndependent({
        environment: { policy: callingPolicy({ calls: 1 }), tools: [], protocol: testProtocol },
        prompts: [prompt('a')],
        n: 1,
        settings: { seed: 1, maxResponseTokens: -5 },
      }),
    ).rejects.toThrow(/maxResponseTokens/);
    await expect(
      sampleIndependent({
        environment: { policy: callingPolicy({ calls: 1 }), tools: [], protocol: testProtocol },
        prompts: [prompt('a')],
        n: 0,
        settings: { seed: 1 },
      }),
    ).rejects.toThrow(/'n'/);
  });
});
