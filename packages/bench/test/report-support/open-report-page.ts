import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium.js';

/** A report page in headless Chromium, with every page error, console error or warning and request recorded. */
export interface OpenReportPage {
  browser: Browser;
  page: Page;
  url: string;
  problems: string[];
  requests: string[];
}

/** Opens `path` (a report.html) in a fresh headless Chromium at 1280×900. */
export async function openReportPage(path: string): Promise<OpenReportPage> {
  const url = pathToFileURL(path).href;
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`console: ${message.text()}`);
  });
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(url);
  return { browser, page, url, problems, requests };
}
