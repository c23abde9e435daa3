import { createHash } from 'node:crypto';
import {
  formatEstimate,
  formatIntervalBounds,
  formatNumber,
  formatPercent,
  formatSeconds,
  halfWidth,
} from './format-values.js';
import { reportClientScript } from './html-client-script.js';
import { escapeHtml, jsonForScript } from './html-escape.js';
import { reportStyles } from './html-styles.js';
import {
  type CurvePoint,
  headlineMetrics,
  metricLabel,
  reportedMetrics,
  reportedPassAtK,
  seedCurve,
  trainingTotals,
} from './report-curves.js';
import { type ComparisonReportData, comparisonReportFormat, parseComparisonReport } from './report-data.js';
import { renderLineChart, renderPassAtKChart } from './svg-charts.js';
import { renderRolloutTreeSvg } from './svg-rollout-tree.js';

const cspHash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function legend(data: ComparisonReportData): string {
  return `<div class="legend" role="group" aria-label="algorithms">${data.algorithms
    .map(
      (algorithm, index) =>
        `<button type="button" class="legend-item algo-${index}" data-algorithm-index="${index}" aria-pressed="true" title="show or hide ${escapeHtml(algorithm.name)}"><i class="swatch"></i>${escapeHtml(algorithm.name)}</button>`,
    )
    .join('')}</div>`;
}

function header(data: ComparisonReportData): string {
  const { run } = data;
  const chips: [string, string][] = [
    ['seeds', run.seeds.join(', ')],
    ['steps', String(run.budget.steps)],
    ['trajectories / step', String(run.budget.trajectoriesPerStep)],
  ];
  if (run.budget.promptsPerStep !== undefined)
    chips.push(['prompts / step', String(run.budget.promptsPerStep)]);
  if (run.budget.maxToolCallsPerTrajectory !== undefined)
    chips.push(['tool calls / trajectory ≤', String(run.budget.maxToolCallsPerTrajectory)]);
  if (run.budget.maxResponseTokens !== undefined)
    chips.push(['response tokens ≤', String(run.budget.maxResponseTokens)]);
  if (run.model !== undefined) chips.push(['model', run.model]);
  if (run.trainingData !== undefined) chips.push(['training data', run.trainingData]);
  if (run.evaluation !== undefined) {
    const evaluation = run.evaluation;
    chips.push([
      'evaluation',
      `${evaluation.dataset}, ${evaluation.tasks} tasks × ${evaluation.samplesPerTask}${
        evaluation.temperature === undefined ? '' : ` at T=${evaluation.temperature}`
      }`,
    ]);
  }
  chips.push(['created', data.createdAt]);
  return (
    '<header class="page"><div class="brand">ARPO.ts · algorithm comparison</div>' +
    `<h1>${escapeHtml(data.title)}</h1>` +
    `<pre class="command" aria-label="command">${escapeHtml(run.command)}</pre>` +
    `<div class="chips">${chips
      .map(([name, value]) => `<span class="chip">${escapeHtml(name)} <b>${escapeHtml(value)}</b></span>`)
      .join('')}</div></header>`
  );
}

function summary(data: ComparisonReportData): string {
  const ks = reportedPassAtK(data);
  const best =
    data.algorithms.length > 1
      ? data.algorithms.reduce(
          (bestIndex, algorithm, index) =>
            algorithm.evaluation.accuracy.mean >
            (data.algorithms[bestIndex]?.evaluation.accuracy.mean ?? -Infinity)
              ? index
              : bestIndex,
          0,
        )
      : -1;
  const tie =
    best >= 0 &&
    data.algorithms.filter(
      (algorithm) => algorithm.evaluation.accuracy.mean === data.algorithms[best]?.evaluation.accuracy.mean,
    ).length > 1;
  const cards = data.algorithms.map((algorithm, index) => {
    const evaluation = algorithm.evaluation;
    const interval = evaluation.accuracy.interval;
    const rows: [string, string][] = evaluation.passAtK.map((entry) => [
      `pass@${entry.k}`,
      formatEstimate(entry.mean, entry.interval, { percent: true }),
    ]);
    rows.push(
      ['tool calls / sample', formatNumber(evaluation.toolCallsPerSample)],
      ['tokens / sample', formatNumber(evaluation.tokensPerSample)],
      ['wall time (all seeds)', formatSeconds(evaluation.wallTimeSeconds.total)],
      ['samples', formatNumber(evaluation.samples)],
    );
    return (
      `<article class="card algo-${index}" data-algorithm="${escapeHtml(algorithm.name)}">` +
      `<h3><i class="swatch"></i>${escapeHtml(algorithm.name)}${
        index === best && !tie ? '<span class="badge">best accuracy</span>' : ''
      }</h3>` +
      `<div class="big" data-accuracy="${evaluation.accuracy.mean}">${formatPercent(evaluation.accuracy.mean)}</div>` +
      `<div class="ci">${
        interval === undefined
          ? 'accuracy (no interval)'
          : `± ${(halfWidth(interval) * 100).toFixed(1)} · ${escapeHtml(formatIntervalBounds(interval, { percent: true }))}`
      }</div>` +
      (algorithm.description === undefined
        ? ''
        : `<p class="section-note">${escapeHtml(algorithm.description)}</p>`) +
      `<dl>${rows.map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>` +
      '</article>'
    );
  });
  const levels = new Set(
    data.algorithms.flatMap((algorithm) =>
      algorithm.evaluation.accuracy.interval === undefined
        ? []
        : [algorithm.evaluation.accuracy.interval.confidence],
    ),
  );
  const levelText = levels.size === 1 ? `${Math.round([...levels][0]! * 100)}% CI` : 'CI';
  const methods = [
    ...new Set(
      data.algorithms.flatMap((algorithm) => {
        const method = algorithm.evaluation.accuracy.interval?.method;
        return method === undefined ? [] : [method];
      }),
    ),
  ];
  const tableRows = data.algorithms.map((algorithm, index) => {
    const evaluation = algorithm.evaluation;
    return (
      `<tr class="algo-${index}"><td><i class="swatch"></i> ${escapeHtml(algorithm.name)}</td>` +
      `<td>${escapeHtml(formatEstimate(evaluation.accuracy.mean, evaluation.accuracy.interval, { percent: true }))}</td>` +
      ks
        .map((k) => {
          const entry = evaluation.passAtK.find((candidate) => candidate.k === k);
          return `<td>${entry === undefined ? '–' : escapeHtml(formatEstimate(entry.mean, entry.interval, { percent: true }))}</td>`;
        })
        .join('') +
      `<td>${formatNumber(evaluation.toolCallsPerSample)}</td><td>${formatNumber(evaluation.tokensPerSample)}</td>` +
      `<td>${escapeHtml(formatSeconds(evaluation.wallTimeSeconds.total))}</td></tr>`
    );
  });
  const evaluationNote =
    data.run.evaluation === undefined
      ? ''
      : ` on ${escapeHtml(data.run.evaluation.dataset)} (${data.run.evaluation.tasks} tasks × ${data.run.evaluation.samplesPerTask} samples)`;
  return (
    '<section id="summary"><h2>Results</h2>' +
    `<p class="section-note">Evaluation of the trained policies${evaluationNote}, pooled over ${data.run.seeds.length} seed${
      data.run.seeds.length === 1 ? '' : 's'
    }. Accuracy is shown as mean ± half the ${levelText}${
      methods.length > 0 ? ` (${escapeHtml(methods.join('; '))})` : ''
    }.</p>` +
    `<div class="cards">${cards.join('')}</div>` +
    '<div class="panel table-scroll"><table class="results"><thead><tr><th>Algorithm</th>' +
    `<th>Accuracy (mean ± ${levelText})</th>${ks.map((k) => `<th>pass@${k}</th>`).join('')}` +
    '<th>Tool calls / sample</th><th>Tokens / sample</th><th>Wall time (all seeds)</th></tr></thead>' +
    `<tbody>${tableRows.join('')}</tbody></table></div></section>`
  );
}

function curveSeries(data: ComparisonReportData, metric: string) {
  return data.algorithms.map((algorithm, index) => ({
    algorithmIndex: index,
    algorithm: algorithm.name,
    points: seedCurve(algorithm, metric),
  }));
}

function chartFigure(
  data: ComparisonReportData,
  metric: string,
  options: { hidden?: boolean; panel?: boolean } = {},
): string {
  const title = metricLabel(metric);
  return (
    `<figure${options.panel === false ? '' : ' class="panel"'} data-metric="${escapeHtml(metric)}"${options.hidden === true ? ' hidden' : ''}>` +
    (options.panel === false ? '' : `<figcaption>${escapeHtml(title)}</figcaption>`) +
    renderLineChart({ metric, title, series: curveSeries(data, metric) }) +
    '</figure>'
  );
}

function curves(data: ComparisonReportData, metrics: readonly string[]): string {
  const headline = metrics.filter((metric) => (headlineMetrics as readonly string[]).includes(metric));
  const more = metrics.filter((metric) => !headline.includes(metric));
  // The picker opens on the most telling of the other metrics.
  const preferred = ['response_length', 'loss', 'tool_calls_executed', 'tokens_computed'];
  const first = preferred.find((metric) => more.includes(metric));
  const rest = more.length > 0 ? more : [...metrics];
  const explore = first === undefined ? rest : [first, ...rest.filter((metric) => metric !== first)];
  const steps = data.run.budget.steps;
  return (
    '<section id="curves"><h2>Training curves</h2>' +
    `<p class="section-note">Per RL step (${steps} step${steps === 1 ? '' : 's'} per seed): the line is the mean over seeds, the band spans the lowest to the highest seed. Hover a chart for values; click an algorithm to hide it.</p>` +
    legend(data) +
    '<div class="controls"><label>Smoothing <input type="range" id="smoothing" min="0" max="0.95" step="0.05" value="0"> <output id="smoothing-value">0.00</output></label></div>' +
    `<div class="chart-grid" id="headline-charts">${headline.map((metric) => chartFigure(data, metric)).join('')}` +
    (explore.length === 0
      ? ''
      : '<div class="panel explore"><figcaption><label>More metrics <select id="metric-select">' +
        explore
          .map(
            (metric, index) =>
              `<option value="${escapeHtml(metric)}"${index === 0 ? ' selected' : ''}>${escapeHtml(metricLabel(metric))}</option>`,
          )
          .join('') +
        `</select></label></figcaption><div id="explore-charts">${explore
          .map((metric, index) => chartFigure(data, metric, { hidden: index > 0, panel: false }))
          .join('')}</div></div>`) +
    '</div></section>'
  );
}

function perSeedTable(data: ComparisonReportData): string {
  const seeds = [
    ...new Set(
      data.algorithms.flatMap(
        (algorithm) => algorithm.evaluation.accuracy.perSeed?.map((entry) => entry.seed) ?? [],
      ),
    ),
  ];
  if (seeds.length === 0) return '';
  const rows = data.algorithms.map(
    (algorithm, index) =>
      `<tr class="algo-${index}"><td><i class="swatch"></i> ${escapeHtml(algorithm.name)}</td>${seeds
        .map((seed) => {
          const entry = algorithm.evaluation.accuracy.perSeed?.find((candidate) => candidate.seed === seed);
          return `<td>${entry === undefined ? '–' : formatPercent(entry.value)}</td>`;
        })
        .join('')}</tr>`,
  );
  return (
    '<div class="panel table-scroll"><table class="per-seed"><thead><tr><th>Accuracy per seed</th>' +
    seeds.map((seed) => `<th>seed ${seed}</th>`).join('') +
    `</tr></thead><tbody>${rows.join('')}</tbody></table></div>`
  );
}

function extraTable(data: ComparisonReportData): string {
  const keys = [
    ...new Set(data.algorithms.flatMap((algorithm) => Object.keys(algorithm.evaluation.extra ?? {}))),
  ].sort();
  if (keys.length === 0) return '';
  const rows = data.algorithms.map(
    (algorithm, index) =>
      `<tr class="algo-${index}"><td><i class="swatch"></i> ${escapeHtml(algorithm.name)}</td>${keys
        .map((key) => {
          const value = algorithm.evaluation.extra?.[key];
          return `<td>${value === undefined ? '–' : formatNumber(value)}</td>`;
        })
        .join('')}</tr>`,
  );
  return (
    '<div class="panel table-scroll"><table class="extra"><thead><tr><th>More evaluation metrics</th>' +
    keys.map((key) => `<th>${escapeHtml(key)}</th>`).join('') +
    `</tr></thead><tbody>${rows.join('')}</tbody></table></div>`
  );
}

function evaluation(data: ComparisonReportData): string {
  const ks = reportedPassAtK(data);
  const chart =
    ks.length === 0
      ? ''
      : '<figure class="panel"><figcaption>pass@k</figcaption>' +
        renderPassAtKChart({
          ks,
          algorithms: data.algorithms.map((algorithm, index) => ({
            name: algorithm.name,
            index,
            passAtK: algorithm.evaluation.passAtK,
          })),
        }) +
        '</figure>';
  const tables = perSeedTable(data) + extraTable(data);
  if (chart === '' && tables === '') return '';
  return (
    '<section id="evaluation"><h2>Evaluation</h2>' +
    '<p class="section-note">pass@k is the probability that at least one of k samples is correct (unbiased estimator of Chen et al., 2021); whiskers show the interval where the data has one.</p>' +
    `<div class="chart-grid">${chart}<div class="stack">${tables}</div></div></section>`
  );
}

function budget(data: ComparisonReportData): string {
  const rows = data.algorithms.map((algorithm, index) => {
    const totals = trainingTotals(algorithm);
    const time = algorithm.evaluation.wallTimeSeconds;
    return (
      `<tr class="algo-${index}"><td><i class="swatch"></i> ${escapeHtml(algorithm.name)}</td>` +
      `<td>${totals.runs}</td><td>${totals.steps}</td><td>${formatNumber(totals.trajectories)}</td>` +
      `<td>${formatNumber(totals.toolCallsExecuted)}</td><td>${formatNumber(totals.tokensComputed)}</td>` +
      `<td>${formatNumber(totals.tokensReused)}</td>` +
      `<td>${time.training === undefined ? '–' : escapeHtml(formatSeconds(time.training))}</td>` +
      `<td>${time.evaluation === undefined ? '–' : escapeHtml(formatSeconds(time.evaluation))}</td></tr>`
    );
  });
  return (
    '<section id="budget"><h2>Budget and cost</h2>' +
    '<p class="section-note">What each algorithm spent in training, summed over seeds and steps. Equal steps and trajectories per step make the comparison fair; tool calls and tokens are what each algorithm chose to spend.</p>' +
    '<div class="panel table-scroll"><table class="totals"><thead><tr><th>Algorithm</th><th>Runs</th><th>Steps</th>' +
    '<th>Trajectories</th><th>Tool calls</th><th>Tokens computed</th><th>Tokens reused</th><th>Training time</th>' +
    `<th>Evaluation time</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`
  );
}

function trees(data: ComparisonReportData): string {
  const rewards = data.algorithms.flatMap((algorithm) =>
    algorithm.trees.flatMap((entry) =>
      entry.tree.trajectories.flatMap((trajectory) =>
        trajectory.reward === undefined ? [] : [trajectory.reward],
      ),
    ),
  );
  const rewardRange = { low: Math.min(0, ...rewards), high: Math.max(1, ...rewards) };
  const tabs = data.algorithms
    .map(
      (algorithm, index) =>
        `<button type="button" class="tab algo-${index}" role="tab" data-algorithm-index="${index}" aria-selected="${index === 0}"><i class="swatch"></i>${escapeHtml(algorithm.name)} <span class="tree-count">${algorithm.trees.length}</span></button>`,
    )
    .join('');
  const lists = data.algorithms
    .map(
      (algorithm, algorithmIndex) =>
        `<div class="tree-list" data-algorithm-index="${algorithmIndex}"${algorithmIndex === 0 ? '' : ' hidden'}>${algorithm.trees
          .map((entry, treeIndex) => {
            const label =
              entry.label ??
              [
                entry.seed === undefined ? undefined : `seed ${entry.seed}`,
                entry.step === undefined ? undefined : `step ${entry.step}`,
                `prompt ${entry.tree.promptId}`,
              ]
                .filter((part) => part !== undefined)
                .join(' · ');
            return `<button type="button" class="tree-chip" data-algorithm-index="${algorithmIndex}" data-tree-index="${treeIndex}" aria-selected="${algorithmIndex === 0 && treeIndex === 0}">${escapeHtml(label)}</button>`;
          })
          .join('')}</div>`,
    )
    .join('');
  const panes = data.algorithms
    .map((algorithm, algorithmIndex) =>
      algorithm.trees
        .map((entry, treeIndex) => {
          const tree = entry.tree;
          const forks = tree.nodes.filter((node) => node.fork !== undefined).length;
          const statistics = tree.statistics;
          const facts = [
            `${tree.trajectories.length} trajectories`,
            `${forks} branch point${forks === 1 ? '' : 's'}`,
            `${statistics.toolCalls} tool calls executed`,
            `${formatNumber(statistics.computedTokens)} tokens computed`,
            `${formatNumber(statistics.reusedTokens)} reused`,
          ];
          return (
            `<div class="tree-pane algo-${algorithmIndex}" data-algorithm-index="${algorithmIndex}" data-tree-index="${treeIndex}"${
              algorithmIndex === 0 && treeIndex === 0 ? '' : ' hidden'
            }><p class="tree-stats">${escapeHtml(facts.join(' · '))}</p>` +
            renderRolloutTreeSvg({ tree, algorithmIndex, treeIndex, rewardRange }) +
            '<div class="tree-legend"><span><i class="l-fork"></i>branch point (entropy H)</span><span><i class="l-tool"></i>span with tool output</span>' +
            `<span><i class="l-leaf"></i>leaf: reward ${formatNumber(rewardRange.low)} → ${formatNumber(rewardRange.high)}</span><span>click a leaf to read its trajectory</span></div></div>`
          );
        })
        .join(''),
    )
    .join('');
  return (
    '<section id="trees"><h2>Rollout trees</h2>' +
    '<p class="section-note">Each tree is one prompt’s group of trajectories, drawn along the response tokens. Trajectories share a line until a branch point, where the sampler forked new branches; a leaf is one finished trajectory.</p>' +
    `<div class="panel" id="tree-viewer"><div class="tabs" role="tablist">${tabs}</div>${lists}` +
    `<div class="viewer"><div class="tree-panes">${panes}</div>` +
    '<div class="trajectory" id="trajectory-view" aria-live="polite"><p class="placeholder">Click a leaf to read its trajectory.</p></div>' +
    '</div></div></section>'
  );
}

/** What the page script needs: algorithm names, curve points for tooltips and smoothing, and the trees. */
function pageData(data: ComparisonReportData, metrics: readonly string[]) {
  const curves: Record<string, [number, [number, number, number, number][]][]> = {};
  for (const metric of metrics) {
    curves[metric] = data.algorithms.map((algorithm, index) => [
      index,
      seedCurve(algorithm, metric).map((point: CurvePoint) => [point.step, point.mean, point.min, point.max]),
    ]);
  }
  return {
    algorithms: data.algorithms.map((algorithm, index) => ({ name: algorithm.name, index })),
    curves,
    trees: data.algorithms.map((algorithm) => algorithm.trees.map((entry) => entry.tree)),
  };
}

/**
 * The report as one self-contained HTML page: no network access (a strict Content-Security-Policy allows only
 * its own inline style and script by hash), SVG charts rendered here, and a small script for interaction.
 * Every piece of text from the data is escaped; the page data travels as JSON with `<`, `>` and `&` escaped.
 */
export function renderHtmlReport(input: ComparisonReportData): string {
  const data = parseComparisonReport(input);
  const metrics = reportedMetrics(data);
  const styles = reportStyles(data.algorithms.length);
  const script = reportClientScript;
  const csp = [
    "default-src 'none'",
    `style-src ${cspHash(styles)}`,
    `script-src ${cspHash(script)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    `<meta name="generator" content="@arpo/bench ${comparisonReportFormat} v${data.version}">`,
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(data.title)}</title>`,
    `<style>${styles}</style>`,
    '</head>',
    '<body>',
    '<main>',
    header(data),
    summary(data),
    curves(data, metrics),
    evaluation(data),
    budget(data),
    trees(data),
    ...(data.run.notes !== undefined && data.run.notes.length > 0
      ? [
          `<section id="notes"><h2>Notes</h2><ul class="notes">${data.run.notes
            .map((note) => `<li>${escapeHtml(note)}</li>`)
            .join('')}</ul></section>`,
        ]
      : []),
    `<footer>Made by <code>@arpo/bench</code> · report format <code>${comparisonReportFormat}</code> v${data.version} · ${escapeHtml(data.createdAt)}</footer>`,
    '</main>',
    `<script type="application/json" id="report-data">${jsonForScript(pageData(data, metrics))}</script>`,
    `<script>${script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
