// A report built from REAL output — GRPO and ARPO actually trained for two steps on the toy tool task (tiny
// transformer, real `square` tool calls, trees from rolloutGroupToJson), evaluated, and written by writeReports —
// opened in headless Chromium: the cards and charts hold report.json's numbers, a real leaf opens its real
// trajectory, and nothing logs an error.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComparisonReportData, loadComparisonReport, seedCurve, writeReports } from '../src/index.js';
import { formatPercent } from '../src/report/format-values.js';
import { openReportPage } from './report-support/open-report-page.js';
import { runToyComparison } from './report-support/toy-comparison.js';

describe('HTML report of a real training run, in Chromium', () => {
  let directory: string;
  let report: ComparisonReportData;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'arpo-report-real-run-'));
    const data = await runToyComparison({
      steps: 2,
      seeds: [1],
      promptsPerStep: 2,
      trajectoriesPerPrompt: 4,
      trainTasks: 4,
      evaluationTasks: 4,
      samplesPerTask: 2,
      command: 'report-real-run-chromium.test.ts',
    });
    const paths = await writeReports({ directory, data });
    // Everything below is checked against the file as written, not the object in memory.
    report = await loadComparisonReport(paths.json);
    ({ browser, page, problems } = await openReportPage(paths.html));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('shows each algorithm’s accuracy from report.json', async () => {
    expect(report.algorithms.map((algorithm) => algorithm.name)).toEqual(['grpo', 'arpo']);
    const cards = page.locator('.card .big');
    expect(await cards.allTextContents()).toEqual(
      report.algorithms.map((algorithm) => formatPercent(algorithm.evaluation.accuracy.mean)),
    );
    expect(
      (
        await cards.evaluateAll((elements) =>
          elements.map((element) => element.getAttribute('data-accuracy')),
        )
      ).map(Number),
    ).toEqual(report.algorithms.map((algorithm) => algorithm.evaluation.accuracy.mean));
  });

  it('draws the real training curves and pass@k bars', async () => {
    for (const metric of ['reward', 'entropy', 'tool_calls_per_trajectory']) {
      const chart = page.locator(`#headline-charts svg.line-chart[data-metric="${metric}"]`);
      expect(await chart.count()).toBe(1);
      for (const [index, algorithm] of report.algorithms.entries()) {
        const expected = seedCurve(algorithm, metric);
        expect(expected).toHaveLength(2);
        const values = await chart
          .locator(`.series[data-algorithm-index="${index}"] circle.point`)
          .evaluateAll((circles) =>
            circles.map((circle) => [
              Number(circle.getAttribute('data-step')),
              Number(circle.getAttribute('data-value')),
            ]),
          );
        expect(values).toEqual(expected.map((point) => [point.step, point.mean]));
      }
    }
    for (const algorithm of report.algorithms) {
      const bars = await page
        .locator(`svg.bar-chart .bar-group[data-algorithm="${algorithm.name}"] rect.bar`)
        .evaluateAll((rects) =>
          rects.map((rect) => [Number(rect.getAttribute('data-k')), Number(rect.getAttribute('data-value'))]),
        );
      expect(bars).toEqual(algorithm.evaluation.passAtK.map((entry) => [entry.k, entry.mean]));
    }
  });

  it('opens a real ARPO trajectory when its leaf is clicked', async () => {
    const algorithmIndex = report.algorithms.findIndex((algorithm) => algorithm.name === 'arpo');
    const tree = report.algorithms[algorithmIndex]?.trees[0]?.tree;
    if (tree === undefined) throw new Error('the ARPO run recorded no rollout tree');
    await page.locator(`#tree-viewer .tab[data-algorithm-index="${algorithmIndex}"]`).click();
    const pane = page.locator(`.tree-pane[data-algorithm-index="${algorithmIndex}"][data-tree-index="0"]`);
    expect(await pane.isVisible()).toBe(true);
    expect(await pane.locator('.tree-leaf').count()).toBe(tree.trajectories.length);
    expect(await pane.locator('.fork').count()).toBe(
      tree.nodes.filter((node) => node.fork !== undefined).length,
    );

    // The trajectory with the most tool calls, read back from the page and from the JSON tree.
    const index = tree.trajectories.reduce(
      (best, trajectory, candidate) =>
        trajectory.toolCalls > (tree.trajectories[best]?.toolCalls ?? -1) ? candidate : best,
      0,
    );
    const trajectory = tree.trajectories[index] as (typeof tree.trajectories)[number];
    await pane.locator(`.tree-leaf[data-trajectory-index="${index}"]`).click();
    const view = page.locator('#trajectory-view');
    expect(await view.getAttribute('data-trajectory-index')).toBe(String(index));
    expect(await view.locator('h3').textContent()).toBe(
      `Trajectory ${index + 1} of ${tree.trajectories.length}`,
    );
    const facts = await view.locator('.fact').allTextContents();
    expect(facts).toContain(`${trajectory.toolCalls} tool call${trajectory.toolCalls === 1 ? '' : 's'}`);
    expect(facts).toContain(`${trajectory.responseTokens} tokens`);
    expect(facts).toContain(`id ${trajectory.id}`);
    // Its text: the node texts from the root to its leaf, in order.
    const path = tree.nodes.filter((node) => node.trajectoryIndices.includes(index) && node.end > node.start);
    const segments = await view.locator('.transcript .segment').allTextContents();
    expect(segments).toEqual(path.map((node) => node.text));
    expect(segments.join('')).toContain('<result>');
  });

  it('logged no errors', () => {
    expect(problems).toEqual([]);
  });
});
