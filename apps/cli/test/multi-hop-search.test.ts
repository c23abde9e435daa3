import type { Trajectory } from '@arpo/core';
import { createBm25SearchBackend, createSearchTool } from '@arpo/sandbox';
import {
  createArpoReward,
  demonstrationText,
  generateDemonstrations,
  generateKnowledgeBase,
  generateMultiHopTasks,
} from '@arpo/tasks';
import { describe, expect, it } from 'vitest';

// The multi-hop tasks of @arpo/tasks over the REAL BM25 search tool of @arpo/sandbox, configured as the main job
// configures it (one hit per search). Lives here because the CLI is the package that depends on both.
describe('multi-hop tasks with the real BM25 search tool', () => {
  const seed = 9;
  const knowledgeBase = generateKnowledgeBase({ seed, people: 400 });
  const tasks = generateMultiHopTasks({ seed, count: 40, split: 'test', knowledgeBase });
  const search = createSearchTool({
    backend: createBm25SearchBackend({
      documents: knowledgeBase.documents,
      snippet: (document) => document.text,
    }),
    topK: 1,
  });
  const runSearch = async (query: string) => {
    const result = await search.execute(query, { timeoutMs: 10_000 });
    if (!result.ok) throw new Error(`search '${query}' failed: ${result.error.message}`);
    return result.output;
  };

  it('perfect demonstrations find both hops by search and score 1', async () => {
    const demonstrations = await generateDemonstrations(tasks, {
      seed,
      imperfectShare: 0,
      tools: { search: runSearch },
    });
    const reward = createArpoReward();
    expect(demonstrations).toHaveLength(40);
    for (const demonstration of demonstrations) {
      const { person, city } = demonstration.task.metadata as { person: string; city: string };
      const country = demonstration.task.references[0];
      const searches = demonstration.turns.filter(
        (turn) => turn.role === 'model' && turn.text.includes('<search>'),
      );
      expect(searches).toHaveLength(2);
      const results = demonstration.turns.filter((turn) => turn.role === 'tool').map((turn) => turn.text);
      // BM25 itself found the facts (the teacher falls back to the metadata only when a search misses).
      expect(results[0]).toContain(`${person} was born in ${city}`);
      expect(results[1]).toContain(`${city} is located in ${country}`);
      const { total } = reward.compute({
        task: demonstration.task,
        trajectory: {} as Trajectory,
        responseText: demonstrationText(demonstration),
      });
      expect(total, demonstrationText(demonstration)).toBe(1);
    }
  });

  it('cannot be answered with one search', async () => {
    for (const task of tasks) {
      const question = String(task.prompt.at(-1)?.content);
      const country = String(task.references[0]);
      // Neither the question itself nor the person's page names the country: a second hop is needed.
      expect(await runSearch(question)).not.toContain(country);
      expect(await runSearch(String(task.metadata?.person))).not.toContain(country);
    }
  });
});
