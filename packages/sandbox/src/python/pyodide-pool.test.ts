import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyodidePool } from './pyodide-pool.js';

// A stand-in `pyodide.mjs` that tries the network the ways a loader could, then fails to start. It checks the
// worker's refusals and the pool's counter without loading the real interpreter (seconds per worker).
const networkTryingLoader = `
export async function loadPyodide() {
  const tried = [];
  const attempt = async (what, run) => {
    try {
      await run();
      tried.push(what + ': went through');
    } catch (error) {
      tried.push(what + ': ' + error.message);
    }
  };
  await attempt('fetch', () => fetch('http://127.0.0.1:9/'));
  await attempt('http.request', async () => (await import('node:http')).default.request('http://127.0.0.1:9/'));
  await attempt('net.connect', async () => (await import('node:net')).default.connect(9, '127.0.0.1'));
  await attempt('WebSocket', () => new WebSocket('ws://127.0.0.1:9/'));
  throw new Error('stand-in loader: ' + tried.join('; '));
}
`;

describe('PyodidePool network accounting', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'arpo-stand-in-pyodide-'));
    await writeFile(join(directory, 'pyodide.mjs'), networkTryingLoader);
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('refuses and counts every network request a worker makes', async () => {
    const pool = new PyodidePool({ size: 1, pyodidePath: directory });
    try {
      const failure = await pool.ready().then(
        () => undefined,
        (error: Error) => error,
      );
      expect(failure?.message).toContain(
        'stand-in loader: fetch: network access is disabled in the Python sandbox; ' +
          'http.request: network access is disabled in the Python sandbox; ' +
          'net.connect: network access is disabled in the Python sandbox; ' +
          'WebSocket: network access is disabled in the Python sandbox',
      );
      expect(pool.stats.networkAttempts).toBe(4);
      expect(await pool.run('1', { timeoutMs: 1000 })).toMatchObject({ status: 'unavailable' });
    } finally {
      await pool.close();
    }
  });
});
