import {
  formatEstimate,
  formatIntervalBounds,
  formatNumber,
  formatPercent,
  formatSeconds,
} from './format-values.js';
import { headlineMetrics, metricLabel, reportedPassAtK, trainingTotals } from './report-curves.js';
import {
  type ComparisonReportData,
  parseComparisonReport,
  type ReportConfidenceInterval,
} from './report-data.js';

/** Escapes text for a Markdown paragraph or table cell: no markup, no HTML, no broken tables. */
export function escapeMarkdown(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/[\\`*_[\]<>|#~&]/g, (character) => `\\${character}`);
}

function codeBlock(text: string, language: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text}\n${fence}`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function levelLabel(intervals: readonly (ReportConfidenceInterval | undefined)[]): string {
  const levels = new Set(
    intervals.flatMap((interval) => (interval === undefined ? [] : [interval.confidence])),
  );
  if (levels.size !== 1) return 'CI';
  return `${Math.round([...levels][0]! * 100)}% CI`;
}

/**
 * The report as Markdown: run metadata, a results table (accuracy mean ± CI, pass@k, tool calls, tokens and
 * wall time per algorithm), per-seed accuracy, training totals and final training metrics.
 */
export function renderMarkdownReport(input: ComparisonReportData): string {
  const data = parseComparisonReport(input);
  const { run } = data;
  const parts: string[] = [];
  parts.push(`# ${escapeMarkdown(data.title)}`);
  parts.push(`Generated ${escapeMarkdown(data.createdAt)} by \`@arpo/bench\`.`);
  parts.push(codeBlock(run.command, 'sh'));

  const budget = run.budget;
  const setting: string[][] = [
    ['Seeds', run.seeds.join(', ')],
    ['Steps per seed', String(budget.steps)],
    [
      'Trajectories per step',
      budget.promptsPerStep === undefined
        ? String(budget.trajectoriesPerStep)
        : `${budget.trajectoriesPerStep} (${budget.promptsPerStep} prompts)`,
    ],
  ];
  if (budget.maxToolCallsPerTrajectory !== undefined)
    setting.push(['Tool calls per trajectory (limit)', String(budget.maxToolCallsPerTrajectory)]);
  if (budget.maxResponseTokens !== undefined)
    setting.push(['Response tokens (limit)', String(budget.maxResponseTokens)]);
  if (run.model !== undefined) setting.push(['Model', escapeMarkdown(run.model)]);
  if (run.trainingData !== undefined) setting.push(['Training data', escapeMarkdown(run.trainingData)]);
  if (run.evaluation !== undefined) {
    const evaluation = run.evaluation;
    const temperature = evaluation.temperature === undefined ? '' : `, temperature ${evaluation.temperature}`;
    setting.push([
      'Evaluation',
      `${escapeMarkdown(evaluation.dataset)}: ${evaluation.tasks} tasks × ${evaluation.samplesPerTask} samples${temperature}`,
    ]);
  }
  parts.push(table(['Setting', 'Value'], setting));

  const ks = reportedPassAtK(data);
  const accuracyLevel = levelLabel(
    data.algorithms.map((algorithm) => algorithm.evaluation.accuracy.interval),
  );
  parts.push('## Results');
  parts.push(
    table(
      [
        'Algorithm',
        `Accuracy (mean ± ${accuracyLevel})`,
        ...ks.map((k) => `pass@${k}`),
        'Tool calls / sample',
        'Tokens / sample',
        'Wall time (all seeds)',
      ],
      data.algorithms.map((algorithm) => {
        const evaluation = algorithm.evaluation;
        return [
          `**${escapeMarkdown(algorithm.name)}**`,
          formatEstimate(evaluation.accuracy.mean, evaluation.accuracy.interval, { percent: true }),
          ...ks.map((k) => {
            const entry = evaluation.passAtK.find((candidate) => candidate.k === k);
            return entry === undefined ? '–' : formatEstimate(entry.mean, entry.interval, { percent: true });
          }),
          formatNumber(evaluation.toolCallsPerSample),
          formatNumber(evaluation.tokensPerSample),
          formatSeconds(evaluation.wallTimeSeconds.total),
        ];
      }),
    ),
  );
  const bounds = data.algorithms.flatMap((algorithm) => {
    const interval = algorithm.evaluation.accuracy.interval;
    return interval === undefined
      ? []
      : [
          `- ${escapeMarkdown(algorithm.name)}: accuracy ${formatIntervalBounds(interval, { percent: true })}` +
            (interval.method === undefined ? '' : `, ${escapeMarkdown(interval.method)}`),
        ];
  });
  if (bounds.length > 0) parts.push(`Accuracy intervals:\n\n${bounds.join('\n')}`);

  const seeds = [
    ...new Set(
      data.algorithms.flatMap(
        (algorithm) => algorithm.evaluation.accuracy.perSeed?.map((entry) => entry.seed) ?? [],
      ),
    ),
  ];
  if (seeds.length > 0) {
    parts.push('## Accuracy per seed');
    parts.push(
      table(
        ['Algorithm', ...seeds.map((seed) => `seed ${seed}`)],
        data.algorithms.map((algorithm) => [
          escapeMarkdown(algorithm.name),
          ...seeds.map((seed) => {
            const entry = algorithm.evaluation.accuracy.perSeed?.find((candidate) => candidate.seed === seed);
            return entry === undefined ? '–' : formatPercent(entry.value);
          }),
        ]),
      ),
    );
  }

  parts.push('## Training');
  const finalMetrics = headlineMetrics.filter((metric) =>
    data.algorithms.some((algorithm) => trainingTotals(algorithm).final[metric] !== undefined),
  );
  parts.push(
    table(
      [
        'Algorithm',
        'Runs',
        'Steps',
        'Trajectories',
        'Tool calls executed',
        'Tokens computed',
        'Tokens reused',
        ...finalMetrics.map((metric) => `Final ${metricLabel(metric).toLowerCase()}`),
      ],
      data.algorithms.map((algorithm) => {
        const totals = trainingTotals(algorithm);
        return [
          escapeMarkdown(algorithm.name),
          String(totals.runs),
          String(totals.steps),
          formatNumber(totals.trajectories),
          formatNumber(totals.toolCallsExecuted),
          formatNumber(totals.tokensComputed),
          formatNumber(totals.tokensReused),
          ...finalMetrics.map((metric) => {
            const value = totals.final[metric];
            return value === undefined ? '–' : formatNumber(value);
          }),
        ];
      }),
    ),
  );
  parts.push('Final values are the mean over seeds of each run’s last step.');

  const extraKeys = [
    ...new Set(data.algorithms.flatMap((algorithm) => Object.keys(algorithm.evaluation.extra ?? {}))),
  ].sort();
  if (extraKeys.length > 0) {
    parts.push('## More evaluation metrics');
    parts.push(
      table(
        ['Algorithm', ...extraKeys.map(escapeMarkdown)],
        data.algorithms.map((algorithm) => [
          escapeMarkdown(algorithm.name),
          ...extraKeys.map((key) => {
            const value = algorithm.evaluation.extra?.[key];
            return value === undefined ? '–' : formatNumber(value);
          }),
        ]),
      ),
    );
  }
  if (run.notes !== undefined && run.notes.length > 0) {
    parts.push('## Notes');
    parts.push(run.notes.map((note) => `- ${escapeMarkdown(note)}`).join('\n'));
  }
  return `${parts.join('\n\n')}\n`;
}
