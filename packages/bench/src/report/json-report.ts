import { type ComparisonReportData, parseComparisonReport } from './report-data.js';

/** The report data as pretty-printed JSON (validated first; non-finite metric values become `null`). */
export function renderJsonReport(data: ComparisonReportData): string {
  return `${JSON.stringify(parseComparisonReport(data), null, 2)}\n`;
}
