import type { Task, Trajectory } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { checkArpoFormat } from './arpo-format.js';
import { createArpoReward, createExactMatchReward } from './arpo-reward.js';

const task: Task = {
  id: 't',
  prompt: [{ role: 'user', content: 'q' }],
  references: ['Grand Duchy of Quen', 'Quen'],
  tools: [],
};
const trajectory = {} as Trajectory;
const score = (responseText: string) => createArpoReward().compute({ task, trajectory, responseText });

describe('ARPO format rules', () => {
  it('accepts a well-formed response with tool calls', () => {
    const response =
      '<think>a</think><search>Quen</search><result>\nPage 1: x\n</result><think>b</think>' +
      '<python>print(1)</python><result>\n1\n</result><answer>\\boxed{Quen}</answer>';
    expect(checkArpoFormat(response)).toEqual({ valid: true });
  });

  it.each([
    ['no think', '<answer>\\boxed{x}</answer>', 'no <think> span'],
    ['unpaired think', '<think>a<answer>\\boxed{x}</answer>', '<think> and </think> not paired'],
    ['two answers', '<think>a</think><answer>\\boxed{x}</answer><answer>\\boxed{y}</answer>', 'exactly one'],
    ['answer without box', '<think>a</think><answer>x</answer>', 'no \\boxed'],
    ['call without result', '<think>a</think><python>1</python><answer>\\boxed{x}</answer>', 'not followed'],
    ['unclosed call', '<think>a</think><search>q<result>r</result><answer>\\boxed{x}</answer>', 'not paired'],
    ['reversed answer tags', '<think>a</think></answer>\\boxed{x}<answer>', 'before <answer>'],
  ])('rejects %s', (_name, response, reason) => {
    const check = checkArpoFormat(response);
    expect(check.valid).toBe(false);
    if (!check.valid) expect(check.reason).toContain(reason);
  });
});

describe('ARPO reward', () => {
  it('gives -1 for a format error', () => {
    expect(score('<answer>\\boxed{Quen}</answer>').total).toBe(-1);
  });

  it('gives token F1 of the boxed answer against the best reference', () => {
    expect(score('<think>a</think><answer>\\boxed{Quen}</answer>').total).toBe(1);
    expect(score('<think>a</think><answer>\\boxed{Duchy of Quen}</answer>').total).toBeCloseTo(
      (2 * 1 * (3 / 4)) / (1 + 3 / 4),
      10,
    );
    expect(score('<think>a</think><answer>\\boxed{Rome}</answer>').total).toBe(0);
  });

  it('adds 0.1 when the answer is right and both tools were used', () => {
    const both =
      '<think>a</think><search>q</search><result>r</result><think>b</think><python>1</python><result>1</result>' +
      '<answer>\\boxed{Quen}</answer>';
    expect(score(both)).toEqual({ total: 1.1, components: { format: 0, f1: 1, bonus: 0.1, correct: 1 } });
    expect(score(both.replace('Quen}', 'Rome}')).total).toBe(0);
    const lenient = createArpoReward({ multiToolBonusWhen: 'f1-positive' });
    expect(
      lenient.compute({ task, trajectory, responseText: both.replace('{Quen}', '{Quen City}') }).total,
    ).toBeCloseTo(2 / 3 + 0.1, 10);
  });

  it('exact-match reward scores 1 or 0', () => {
    const reward = createExactMatchReward();
    expect(
      reward.compute({ task, trajectory, responseText: '<answer>\\boxed{the Quen}</answer>' }).total,
    ).toBe(1);
    expect(
      reward.compute({ task, trajectory, responseText: '<answer>\\boxed{Quen City}</answer>' }).total,
    ).toBe(0);
    expect(reward.compute({ task, trajectory, responseText: 'Quen' }).total).toBe(0);
  });
});
