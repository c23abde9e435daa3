// The HTML report in headless Chromium (Debian's `chromium` through playwright-core): it renders, its charts hold
// the run's numbers, the tree viewer opens trajectories, hostile text stays text, and nothing logs an error or
// touches the network.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseComparisonReport, renderHtmlReport, seedCurve } from '../src/index.js';
import { openReportPage } from './report-support/open-report-page.js';
import { hostileText, sampleReport, sampleSteps } from './report-support/sample-report.js';

describe('HTML report in Chromium', () => {
  const data = parseComparisonReport(sampleReport());
  let browser: Browser;
  let page: Page;
  let pageUrl: string;
  let problems: string[] = [];
  let requests: string[] = [];

  beforeAll(async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-report-html-'));
    const path = join(directory, 'report.html');
    await writeFile(path, renderHtmlReport(sampleReport()));
    ({ browser, page, url: pageUrl, problems, requests } = await openReportPage(path));
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('renders the title, one card per algorithm and the results table', async () => {
    expect(await page.title()).toBe(hostileText.title);
    expect(await page.locator('h1').textContent()).toBe(hostileText.title);
    expect(await page.locator('pre.command').textContent()).toBe(hostileText.command);
    expect(await page.locator('.card').count()).toBe(3);
    expect(await page.locator('.card .big').allTextContents()).toEqual(['47.5%', '52.5%', '57.5%']);
    expect(await page.locator('.card[data-algorithm="arpo"] .badge').textContent()).toBe('best accuracy');
    expect(await page.locator('table.results tbody tr').count()).toBe(3);
  });

  it('draws each headline curve with one point per step holding the mean over seeds', async () => {
    for (const metric of ['reward', 'accuracy', 'entropy', 'tool_calls_per_trajectory']) {
      const chart = page.locator(`#headline-charts svg.line-chart[data-metric="${metric}"]`);
      expect(await chart.count()).toBe(1);
      for (const [index, algorithm] of data.algorithms.entries()) {
        const series = chart.locator(`.series[data-algorithm-index="${index}"]`);
        expect(await series.getAttribute('data-algorithm')).toBe(algorithm.name);
        expect(await series.locator('.curve').getAttribute('data-points')).toBe(String(sampleSteps));
        const expected = seedCurve(algorithm, metric);
        const points = series.locator('circle.point');
        expect(await points.count()).toBe(expected.length);
        const values = await points.evaluateAll((circles) =>
          circles.map((circle) => [
            Number(circle.getAttribute('data-step')),
            Number(circle.getAttribute('data-value')),
          ]),
        );
        expect(values).toEqual(expected.map((point) => [point.step, point.mean]));
        expect(await series.locator('path.band').count()).toBe(1);
      }
    }
  });

  it('shows pass@k bars with the input values', async () => {
    const bars = page.locator('svg.bar-chart rect.bar');
    expect(await bars.count()).toBe(12);
    const arpo = page.locator('svg.bar-chart .bar-group[data-algorithm="arpo"] rect.bar');
    const values = await arpo.evaluateAll((rects) =>
      rects.map((rect) => [Number(rect.getAttribute('data-k')), Number(rect.getAttribute('data-value'))]),
    );
    expect(values).toEqual(data.algorithms[2]!.evaluation.passAtK.map((entry) => [entry.k, entry.mean]));
  });

  it('switches the extra-metrics chart, hides an algorithm from the legend, and shows tooltips', async () => {
    expect(await page.locator('#explore-charts figure[data-metric="response_length"]').isVisible()).toBe(
      true,
    );
    await page.selectOption('#metric-select', 'loss');
    expect(await page.locator('#explore-charts figure[data-metric="loss"]').isVisible()).toBe(true);
    expect(await page.locator('#explore-charts figure[data-metric="response_length"]').isVisible()).toBe(
      false,
    );

    const grpoSeries = page.locator(
      '#headline-charts svg[data-metric="reward"] .series[data-algorithm-index="0"]',
    );
    await page.locator('#curves .legend-item[data-algorithm-index="0"]').click();
    expect(await grpoSeries.isVisible()).toBe(false);
    await page.locator('#curves .legend-item[data-algorithm-index="0"]').click();
    expect(await grpoSeries.isVisible()).toBe(true);

    const area = page.locator('#headline-charts svg[data-metric="reward"] .hover-area');
    const box = await area.boundingBox();
    await page.mouse.move(box!.x + 2, box!.y + box!.height / 2);
    const tooltip = page.locator('#headline-charts figure[data-metric="reward"] .tooltip');
    expect(await tooltip.isVisible()).toBe(true);
    const text = await tooltip.textContent();
    expect(text).toContain('step 0');
    expect(text).toContain('arpo');
  });

  it('smooths the curves without moving the raw points', async () => {
    const curve = page.locator(
      '#headline-charts svg[data-metric="reward"] .series[data-algorithm-index="2"] .curve',
    );
    const before = await curve.getAttribute('d');
    await page.locator('#smoothing').fill('0.9');
    expect(await curve.getAttribute('d')).not.toBe(before);
    await page.locator('#smoothing').fill('0');
    expect(await curve.getAttribute('d')).toBe(before);
  });

  it('opens a trajectory when a leaf is clicked, showing hostile text as text', async () => {
    await page.locator('#tree-viewer .tab[data-algorithm-index="2"]').click();
    const pane = page.locator('.tree-pane[data-algorithm-index="2"][data-tree-index="0"]');
    expect(await pane.isVisible()).toBe(true);
    expect(await pane.locator('.tree-leaf').count()).toBe(5);
    expect(await pane.locator('.fork').count()).toBe(2);

    await pane.locator('.tree-leaf[data-trajectory-index="1"]').click();
    const view = page.locator('#trajectory-view');
    expect(await view.getAttribute('data-trajectory-index')).toBe('1');
    expect(await view.locator('h3').textContent()).toBe('Trajectory 2 of 5');
    const transcript = await view.locator('.transcript').textContent();
    expect(transcript).toContain('<python>print(17 * 23)</python><result>391</result>');
    expect(transcript).toContain(hostileText.leaf);
    expect(await view.locator('.fork-point').count()).toBe(1);
    expect(await pane.locator('.tree-leaf.selected').getAttribute('data-trajectory-index')).toBe('1');

    await pane.locator('.tree-leaf[data-trajectory-index="3"]').press('Enter');
    expect(await view.locator('.transcript').textContent()).toBe(hostileText.script);

    await page.locator('#tree-viewer .tree-chip[data-algorithm-index="2"][data-tree-index="1"]').click();
    expect(await page.locator('.tree-pane[data-algorithm-index="2"][data-tree-index="1"]').isVisible()).toBe(
      true,
    );
    expect(await pane.isVisible()).toBe(false);

    await page.locator('#tree-viewer .tab[data-algorithm-index="1"]').click();
    expect(await view.textContent()).toContain('No rollout trees');
  });

  it('ran no injected markup, made no network requests and logged no errors', async () => {
    expect(await page.evaluate('window.__injected')).toBeUndefined();
    expect(await page.locator('main img, main script, h1 b').count()).toBe(0);
    expect(requests).toEqual([pageUrl]);
    expect(problems).toEqual([]);
  });
});
