import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleReport } from '../../test/report-support/sample-report.js';
import { loadComparisonReport, parseComparisonReport } from './report-data.js';
import { writeReports } from './write-reports.js';

describe('writeReports', () => {
  it('writes report.json, report.md and report.html, and the JSON loads back to the same data', async () => {
    const directory = join(await mkdtemp(join(tmpdir(), 'arpo-reports-')), 'nested', 'out');
    const paths = await writeReports({ directory, data: sampleReport() });
    expect((await readdir(directory)).sort()).toEqual(['report.html', 'report.json', 'report.md']);
    expect(await loadComparisonReport(paths.json)).toEqual(parseComparisonReport(sampleReport()));
    expect(await readFile(paths.markdown, 'utf8')).toMatch(/^# /);
    expect(await readFile(paths.html, 'utf8')).toMatch(/^<!doctype html>/);
  });
});
