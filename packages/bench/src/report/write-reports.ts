import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHtmlReport } from './html-report.js';
import { renderJsonReport } from './json-report.js';
import { renderMarkdownReport } from './markdown-report.js';
import { type ComparisonReportData, parseComparisonReport } from './report-data.js';

/** Paths of the files `writeReports` wrote. */
export interface WrittenReports {
  json: string;
  markdown: string;
  html: string;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, 'utf8');
  await rename(temporary, path);
}

/**
 * Validates the data once and writes `report.json`, `report.md` and `report.html` into `directory` (created if
 * missing). Each file is written to a temporary name first, so a crash never leaves a half-written report.
 */
export async function writeReports(options: {
  directory: string;
  data: ComparisonReportData;
}): Promise<WrittenReports> {
  const data = parseComparisonReport(options.data);
  await mkdir(options.directory, { recursive: true });
  const paths: WrittenReports = {
    json: join(options.directory, 'report.json'),
    markdown: join(options.directory, 'report.md'),
    html: join(options.directory, 'report.html'),
  };
  await writeAtomically(paths.json, renderJsonReport(data));
  await writeAtomically(paths.markdown, renderMarkdownReport(data));
  await writeAtomically(paths.html, renderHtmlReport(data));
  return paths;
}
