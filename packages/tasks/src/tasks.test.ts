import type { Task, Trajectory } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { generateArithmeticTasks } from './arithmetic/arithmetic-tasks.js';
import { demonstrationText, generateDemonstrations } from './demonstrations/demonstrations.js';
import { generateKnowledgeBase, type KnowledgeBase } from './knowledge/knowledge-base.js';
import { generateMultiHopTasks } from './knowledge/multi-hop-tasks.js';
import { createArpoReward } from './rewards/arpo-reward.js';

function evaluate(expression: string): number {
  // Test-only reference evaluation of `a*b+c` style expressions.
  return Function(`return (${expression});`)() as number;
}

/** A test-only search: documents containing every query word, formatted like the reference tool. */
function searchFor(knowledgeBase: KnowledgeBase) {
  return (query: string) =>
    knowledgeBase.documents
      .filter((document) => document.title === query)
      .map((document, index) => `Page ${index + 1}: ${document.text}`)
      .join('\n');
}

describe('arithmetic tasks', () => {
  it('are deterministic, correct and never shared between splits', () => {
    const train = generateArithmeticTasks({ seed: 1, count: 300, split: 'train' });
    const test = generateArithmeticTasks({ seed: 1, count: 200, split: 'test' });
    expect(generateArithmeticTasks({ seed: 1, count: 300, split: 'train' })).toEqual(train);
    expect(generateArithmeticTasks({ seed: 2, count: 300, split: 'train' })).not.toEqual(train);
    const testExpressions = new Set(test.map((task) => task.metadata?.expression));
    expect(train.some((task) => testExpressions.has(task.metadata?.expression))).toBe(false);
    for (const task of [...train, ...test]) {
      expect(Number(task.references[0])).toBe(evaluate(String(task.metadata?.expression)));
      expect(task.prompt[1]?.content).toMatch(/^What is \d+ [*+-] \d+ [*+-] \d+\?$/);
    }
    expect(generateArithmeticTasks({ seed: 1, count: 50, split: 'test' })).toEqual(test.slice(0, 50));
  });
});

describe('multi-hop tasks', () => {
  const knowledgeBase = generateKnowledgeBase({ seed: 3 });

  it('need two hops over the generated corpus and keep test people out of training', () => {
    const train = generateMultiHopTasks({ seed: 3, count: 1000, split: 'train', knowledgeBase });
    const test = generateMultiHopTasks({ seed: 3, count: 1000, split: 'test', knowledgeBase });
    expect(train.length + test.length).toBe(knowledgeBase.people.length);
    const testPeople = new Set(test.map((task) => task.metadata?.person));
    expect(train.some((task) => testPeople.has(task.metadata?.person))).toBe(false);
    for (const task of test.slice(0, 20)) {
      const person = knowledgeBase.people.find((candidate) => candidate.name === task.metadata?.person);
      const city = knowledgeBase.cities.find((candidate) => candidate.name === person?.city);
      expect(task.references).toEqual([city?.country]);
      const personDocument = knowledgeBase.documents.find((document) => document.title === person?.name);
      expect(personDocument?.text).toContain(`born in ${city?.name}`);
      expect(personDocument?.text).not.toContain(city?.country ?? '');
    }
  });

  it('generates unique names', () => {
    const titles = knowledgeBase.documents.map((document) => document.title);
    expect(new Set(titles).size).toBe(titles.length);
  });
});

describe('demonstrations', () => {
  const knowledgeBase = generateKnowledgeBase({ seed: 4 });
  const tasks: Task[] = [
    ...generateArithmeticTasks({ seed: 4, count: 60, split: 'train' }),
    ...generateMultiHopTasks({ seed: 4, count: 60, split: 'train', knowledgeBase }),
  ];
  const tools = {
    python: (code: string) => `${evaluate(code.replace(/^print\((.*)\)$/, '$1'))}\n`,
    search: searchFor(knowledgeBase),
  };

  it('perfect ones earn the full ARPO reward and imperfect ones less', async () => {
    const demonstrations = await generateDemonstrations(tasks, { seed: 5, imperfectShare: 0.25, tools });
    const reward = createArpoReward();
    let imperfect = 0;
    for (const demonstration of demonstrations) {
      const responseText = demonstrationText(demonstration);
      const { total } = reward.compute({
        task: demonstration.task,
        trajectory: {} as Trajectory,
        responseText,
      });
      if (demonstration.imperfect) {
        imperfect += 1;
        expect(total).toBeLessThan(1);
        expect(total).toBeGreaterThanOrEqual(0);
      } else expect(total, responseText).toBe(1);
    }
    expect(imperfect).toBeGreaterThan(15);
    expect(imperfect).toBeLessThan(45);
  });

  it('are deterministic and alternate model and tool turns', async () => {
    const first = await generateDemonstrations(tasks, { seed: 6, tools });
    expect(await generateDemonstrations(tasks, { seed: 6, tools })).toEqual(first);
    const multiHop = first.find(
      (demonstration) => demonstration.task.dataSource === 'multi-hop' && !demonstration.imperfect,
    );
    expect(multiHop?.turns.map((turn) => turn.role)).toEqual(['model', 'tool', 'model', 'tool', 'model']);
    expect(multiHop?.turns[1]?.text).toMatch(/^<result>\nPage 1: .* was born in .*\n<\/result>$/);
  });

  it('refuses an imperfect share outside [0, 1] and tasks without a teacher', async () => {
    await expect(generateDemonstrations(tasks, { seed: 1, imperfectShare: 2, tools })).rejects.toThrow(
      /imperfectShare/,
    );
    await expect(
      generateDemonstrations([{ ...tasks[0]!, dataSource: 'gsm8k' }], { seed: 1, tools }),
    ).rejects.toThrow(/arithmetic and multi-hop/);
  });
});
