// Trees from a real ARPO rollout (tiny transformer, real tool calls) go through rolloutGroupToJson into a report
// and come out as viewer trees with one leaf per trajectory.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promptFromTask, rolloutGroupToJson, sampleArpo } from '@arpo/rollout';
import { describe, expect, it } from 'vitest';
import { parseComparisonReport, renderHtmlReport } from '../src/index.js';
import { renderRolloutTreeSvg } from '../src/report/svg-rollout-tree.js';
import { sampleReport } from './report-support/sample-report.js';
import { createToyEnvironment, toyTasks } from './report-support/toy-environment.js';

describe('report trees from a real ARPO rollout', () => {
  it('accepts rolloutGroupToJson output and draws every trajectory as a leaf', async () => {
    const toy = await createToyEnvironment({
      directory: await mkdtemp(join(tmpdir(), 'arpo-report-rollout-')),
    });
    try {
      const tasks = toyTasks({ count: 2, prefix: 't' });
      const groups = await sampleArpo({
        environment: { policy: toy.policy, tools: toy.environment.tools, protocol: toy.environment.protocol },
        prompts: tasks.map((task) => promptFromTask(task, toy.tokenizer)),
        settings: { seed: 3, maxResponseTokens: 40, temperature: 1 },
        arpo: { trajectories: 8, initial: 4 },
      });
      const trees = groups.map((group) => rolloutGroupToJson(group, { tokenizer: toy.tokenizer }));
      expect(trees.some((tree) => tree.nodes.some((node) => node.fork !== undefined))).toBe(true);
      expect(trees.some((tree) => tree.trajectories.some((trajectory) => trajectory.toolCalls > 0))).toBe(
        true,
      );

      const data = sampleReport();
      data.algorithms[2]!.trees = trees.map((tree) => ({ seed: 1, step: 0, tree }));
      const parsed = parseComparisonReport(JSON.parse(JSON.stringify(data)));
      expect(parsed.algorithms[2]!.trees.map((entry) => entry.tree)).toEqual(trees);

      trees.forEach((tree, treeIndex) => {
        const svg = renderRolloutTreeSvg({
          tree,
          algorithmIndex: 2,
          treeIndex,
          rewardRange: { low: 0, high: 1 },
        });
        const leaves = [...svg.matchAll(/class="tree-leaf"[^>]*data-trajectory-index="(\d+)"/g)].map(
          (match) => Number(match[1]),
        );
        expect(leaves.sort((first, second) => first - second)).toEqual(
          tree.trajectories.map((_, index) => index),
        );
      });
      const html = renderHtmlReport(parsed);
      expect(html.match(/class="tree-leaf"/g)?.length).toBe(
        parsed.algorithms.reduce(
          (sum, algorithm) =>
            sum + algorithm.trees.reduce((inner, entry) => inner + entry.tree.trajectories.length, 0),
          0,
        ),
      );
    } finally {
      await toy.close();
    }
  });
});
