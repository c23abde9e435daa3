import { generateArithmeticTasks } from '@arpo/tasks';
import { describe, expect, it } from 'vitest';
import { createDefaultScorer } from '../scorers/rule-scorers.js';
import { benchmarkItemsFromTasks } from './task-items.js';

describe('benchmarkItemsFromTasks', () => {
  it('keeps the prompt and references, and scores numeric tasks exactly', async () => {
    const tasks = generateArithmeticTasks({ seed: 3, count: 3, split: 'test', systemPrompt: null });
    const items = benchmarkItemsFromTasks(tasks, { source: 'built-in' });
    expect(items.map((item) => item.id)).toEqual(tasks.map((task) => task.id));
    expect(items[0]).toMatchObject({
      answerKind: 'math',
      dataSource: 'arithmetic',
      prompt: tasks[0]?.prompt,
      question: tasks[0]?.prompt.at(-1)?.content,
      location: { file: 'built-in', record: 0 },
    });
    const item = items[0] as (typeof items)[number];
    const reference = item.references[0] as string;
    const scorer = createDefaultScorer();
    const right = await scorer.score({ item, response: `<answer>\\boxed{${reference}}</answer>` });
    const wrong = await scorer.score({
      item,
      response: `<answer>\\boxed{${Number(reference) + 1}}</answer>`,
    });
    expect([right.correct, wrong.correct]).toEqual([true, false]);
    const named = benchmarkItemsFromTasks([
      { ...(tasks[0] as (typeof tasks)[number]), references: ['Paris'] },
    ]);
    expect(named[0]?.answerKind).toBe('text');
  });
});
