// Finds and launches the system Chromium for the report tests and the screenshot script (playwright-core
// downloads no browser; Debian's `chromium` package is what CI and developers install).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const candidates = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The Chromium executable: `$CHROMIUM_PATH`, else the first of chromium, chromium-browser, google-chrome on PATH. */
export function findChromium(): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured !== undefined && configured !== '') return configured;
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    for (const name of candidates) {
      const path = join(directory, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here
      }
    }
  }
  throw new Error(
    `Chromium was not found on PATH (looked for ${candidates.join(', ')}). The HTML report is tested and ` +
      'screenshotted in headless Chromium: install it with `sudo apt-get install -y chromium` (Debian/Ubuntu), ' +
      'or set CHROMIUM_PATH to a Chromium or Chrome executable.',
  );
}

/** Headless Chromium as the tests and scripts use it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), headless: true, args: ['--no-sandbox'] });
}
