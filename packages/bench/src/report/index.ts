// Comparison reports: the data shape, and its JSON, Markdown and self-contained HTML renderings.
export { renderHtmlReport } from './html-report.js';
export { renderJsonReport } from './json-report.js';
export { renderMarkdownReport } from './markdown-report.js';
export {
  type CurvePoint,
  headlineMetrics,
  metricLabel,
  reportedMetrics,
  reportedPassAtK,
  seedCurve,
  type TrainingTotals,
  trainingTotals,
} from './report-curves.js';
export * from './report-data.js';
export { type WrittenReports, writeReports } from './write-reports.js';
