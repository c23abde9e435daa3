import { parse, type Trajectory, trajectorySchema } from '@arpo/core';
import { createArpoTagProtocol } from '@arpo/sandbox';
import { createScriptedPolicy, type ScriptedTurn } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { sampleIndependent } from '../src/index.js';
import { prompt, resultsIn, tokenizer } from './helpers.js';

// Malformed model output through the real ARPO tag protocol (the one users run): a complete but bad call becomes
// a tool error fed back in <result>; a call the model never closed (EOS or the length limit first) runs nothing
// and the trajectory ends as the model ended it.
const protocol = createArpoTagProtocol();
const eos = tokenizer.specialTokens.eos;
const bytes = (text: string) => Array.from(tokenizer.encode(text));
/** A token for a raw byte that is not valid UTF-8 on its own (the byte tokenizer's ids are byte + 3). */
const rawByte = (value: number) => value + 3;

const scripts: Record<string, (string | ScriptedTurn)[]> = {
  unclosed: ['<think>compute</think><python>print(1 + 1)'],
  empty: ['<python></python>', '<python>  \n  </python>', '<answer>\\boxed{1}</answer>'],
  soup: [
    '<python>a = 1<search>cats</python>',
    'print(2)</python>',
    '<python>print(3)</search>',
    '<search>cats</search>',
    '<answer>\\boxed{2}</answer>',
  ],
  bytes: [
    {
      text: '',
      tokenIds: [...bytes('<python>print('), rawByte(0xff), rawByte(0xfe), ...bytes(')</python>')],
    },
    { text: '', tokenIds: [...bytes('<answer>'), rawByte(0xc3)] },
  ],
};

function scriptedPolicy() {
  return createScriptedPolicy({
    respond: (context) => {
      const name = /^<bos>Q (\S+)/.exec(context.contextText)?.[1] ?? '';
      return scripts[name]?.[resultsIn(context)] ?? '<answer>done</answer>';
    },
  });
}

function pythonAndSearch() {
  const ran: unknown[] = [];
  const tool = {
    name: 'python',
    description: 'runs Python',
    inputSchema: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] },
    async execute(input: unknown) {
      ran.push(input);
      return { ok: true as const, output: 'ran' };
    },
  };
  return { tools: [tool], ran };
}

function errorsOf(trajectory: Trajectory) {
  return trajectory.segments.flatMap((segment) =>
    segment.kind === 'tool' ? segment.calls.map((call) => call.error) : [],
  );
}

describe('malformed model output through the real ARPO tag protocol', () => {
  it('never crashes a rollout: bad complete calls are fed back, unclosed calls end the trajectory', async () => {
    const { tools, ran } = pythonAndSearch();
    const groups = await sampleIndependent({
      environment: { policy: scriptedPolicy(), tools, protocol },
      prompts: ['unclosed', 'empty', 'soup', 'bytes'].map((name) => prompt(name, `Q ${name}\n`)),
      n: 1,
      // Malformed calls count toward the call limit; the soup makes four.
      settings: { seed: 1, maxToolCalls: 8 },
    });
    const byName = new Map(groups.map((group) => [group.promptId, group.trajectories[0]!]));
    for (const trajectory of byName.values()) {
      parse(trajectorySchema, trajectory);
      for (const segment of trajectory.segments) {
        const mask = Array.from(trajectory.lossMask.subarray(segment.start, segment.end));
        expect(mask.every((value) => value === (segment.kind === 'model' ? 1 : 0))).toBe(true);
      }
    }

    // Unclosed call, then EOS: nothing runs, nothing is appended, the trajectory ends as the model ended it.
    const unclosed = byName.get('unclosed')!;
    expect(unclosed.finishReason).toBe('eos');
    expect(unclosed.segments.map((segment) => segment.kind)).toEqual(['model']);
    expect(tokenizer.decode(unclosed.responseTokenIds)).toBe(
      '<think>compute</think><python>print(1 + 1)<eos>',
    );

    // Empty tags: the protocol's error text comes back in <result>, and the model goes on.
    const empty = byName.get('empty')!;
    expect(empty.finishReason).toBe('eos');
    expect(errorsOf(empty).map((error) => error?.code)).toEqual(['malformed-call', 'malformed-call']);
    expect(tokenizer.decode(empty.responseTokenIds)).toContain(
      '<python></python> <result>\nError (malformed-call): <python></python> is empty; put the python input between the tags\n</result>',
    );

    // Tag soup: a call opened inside another, a closing tag without its opening one (twice), an unknown tool.
    const soup = byName.get('soup')!;
    expect(soup.finishReason).toBe('eos');
    expect(errorsOf(soup).map((error) => error?.message)).toEqual([
      '<search> was opened inside <python>; make one call at a time',
      'found </python> without an opening <python>; write <python>…</python>',
      'found </search> without an opening <search>; write <search>…</search>',
      "tool 'search' is not available here (available: python)",
    ]);
    expect(soup.metrics.toolCalls).toBe(4);

    // Invalid UTF-8 inside a complete call: the tool gets the decoded text (U+FFFD), the response keeps the raw
    // bytes; a dangling byte before EOS just ends the trajectory.
    const invalid = byName.get('bytes')!;
    expect(invalid.finishReason).toBe('eos');
    expect(Array.from(invalid.responseTokenIds)).toEqual(
      expect.arrayContaining([rawByte(0xff), rawByte(0xfe), rawByte(0xc3)]),
    );
    expect(invalid.responseTokenIds.at(-1)).toBe(eos);
    expect(ran).toEqual([{ code: 'print(\uFFFD\uFFFD)' }]);
    expect(groups.find((group) => group.promptId === 'bytes')!.statistics.toolCalls).toBe(1);
  });

  it('ends a call cut by the length limit with finish reason length, running nothing', async () => {
    const { tools, ran } = pythonAndSearch();
    const policy = createScriptedPolicy({
      respond: () => `<python>print("${'x'.repeat(200)}")</python>`,
    });
    const groups = await sampleIndependent({
      environment: { policy, tools, protocol },
      prompts: [prompt('long')],
      n: 2,
      settings: { seed: 1, maxResponseTokens: 40 },
    });
    for (const trajectory of groups[0]!.trajectories) {
      expect(trajectory.finishReason).toBe('length');
      expect(trajectory.responseTokenIds.length).toBe(40);
      expect(trajectory.segments.map((segment) => segment.kind)).toEqual(['model']);
    }
    expect(ran).toEqual([]);
    expect(groups[0]!.statistics.toolCalls).toBe(0);
  });
});
