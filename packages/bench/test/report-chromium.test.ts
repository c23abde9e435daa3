import { afterEach, describe, expect, it } from 'vitest';
import { findChromium } from '../scripts/chromium.js';

describe('findChromium', () => {
  const saved = { path: process.env.PATH, chromium: process.env.CHROMIUM_PATH };
  afterEach(() => {
    process.env.PATH = saved.path;
    if (saved.chromium === undefined) delete process.env.CHROMIUM_PATH;
    else process.env.CHROMIUM_PATH = saved.chromium;
  });

  it('says how to install Chromium when it is not on PATH', () => {
    process.env.PATH = '/nonexistent-directory';
    delete process.env.CHROMIUM_PATH;
    expect(() => findChromium()).toThrow(/apt-get install -y chromium/);
  });

  it('prefers CHROMIUM_PATH', () => {
    process.env.CHROMIUM_PATH = '/opt/chrome/chrome';
    expect(findChromium()).toBe('/opt/chrome/chrome');
  });
});
