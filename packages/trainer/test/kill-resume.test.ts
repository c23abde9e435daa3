import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = resolve(import.meta.dirname, 'fixtures/toy-training.ts');
const packageDirectory = resolve(import.meta.dirname, '..');

function start(directory: string, steps: number): ChildProcess {
  return spawn(
    process.execPath,
    ['--conditions=@arpo/source', '--import', 'tsx', script, directory, String(steps)],
    {
      cwd: packageDirectory,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

function finished(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => child.on('exit', (code) => done(code)));
}

function metrics(directory: string) {
  return readFileSync(join(directory, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, number>);
}

describe('kill -9 and resume', () => {
  it('continues from the last checkpoint with the metrics of an uninterrupted run', async () => {
    const steps = 5;
    const straight = mkdtempSync(join(tmpdir(), 'arpo-straight-'));
    expect(await finished(start(straight, steps))).toBe(0);

    const interrupted = mkdtempSync(join(tmpdir(), 'arpo-killed-'));
    const first = start(interrupted, steps);
    let output = '';
    await new Promise<void>((done) => {
      first.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('checkpoint 3')) {
          first.kill('SIGKILL');
          done();
        }
      });
    });
    await finished(first);
    expect(first.signalCode).toBe('SIGKILL');
    const second = start(interrupted, steps);
    let resumedOutput = '';
    second.stdout?.on('data', (chunk: Buffer) => {
      resumedOutput += chunk.toString();
    });
    expect(await finished(second)).toBe(0);
    expect(resumedOutput).not.toContain('checkpoint 1\n');
    expect(resumedOutput).toContain(`checkpoint ${steps}`);

    const expected = metrics(straight);
    const actual = metrics(interrupted);
    expect(expected).toHaveLength(steps);
    expect(actual.map((entry) => entry.step)).toEqual([0, 1, 2, 3, 4]);
    expect(actual).toEqual(expected);
  }, 120_000);
});
