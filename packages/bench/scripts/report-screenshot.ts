// Renders a report file in headless Chromium and saves a PNG:
//   pnpm --filter @arpo/bench report:screenshot <report.json> <out.png> [--width 1280] [--viewport-only]
//     [--trees <algorithm>]   (show that algorithm's rollout trees instead of the first algorithm's)
// Relative paths are taken from the directory the command was typed in.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadComparisonReport, renderHtmlReport } from '../src/index.js';
import { launchChromium } from './chromium.js';

const positional: string[] = [];
let width = 1280;
let fullPage = true;
let treeAlgorithm: string | undefined;
const argv = process.argv.slice(2);
for (let index = 0; index < argv.length; index++) {
  const argument = argv[index] as string;
  if (argument === '--width') width = Number(argv[++index]);
  else if (argument === '--viewport-only') fullPage = false;
  else if (argument === '--trees') treeAlgorithm = argv[++index];
  else positional.push(argument);
}
const [reportPath, outputPath] = positional;
if (reportPath === undefined || outputPath === undefined || !Number.isInteger(width) || width < 320) {
  process.stderr.write(
    'usage: report:screenshot <report.json> <out.png> [--width 1280] [--viewport-only] [--trees <algorithm>]\n',
  );
  process.exit(2);
}
const base = process.env.INIT_CWD ?? process.cwd();
const data = await loadComparisonReport(resolve(base, reportPath));
const directory = await mkdtemp(join(tmpdir(), 'arpo-report-'));
const browser = await launchChromium();
try {
  const htmlPath = join(directory, 'report.html');
  await writeFile(htmlPath, renderHtmlReport(data));
  const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme: 'light' });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  await page.goto(pathToFileURL(htmlPath).href);
  if (treeAlgorithm !== undefined) {
    const index = data.algorithms.findIndex((algorithm) => algorithm.name === treeAlgorithm);
    if (index < 0) throw new Error(`--trees ${treeAlgorithm}: the report has no such algorithm`);
    await page.locator(`#tree-viewer .tab[data-algorithm-index="${index}"]`).click();
  }
  await page
    .locator('#trajectory-view h3')
    .first()
    .waitFor({ timeout: 10_000 })
    .catch(() => undefined);
  const output = resolve(base, outputPath);
  await page.screenshot({ path: output, fullPage });
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  process.stdout.write(`wrote ${output}\n`);
  if (problems.length > 0) process.exitCode = 1;
} finally {
  await browser.close();
  await rm(directory, { recursive: true, force: true });
}
