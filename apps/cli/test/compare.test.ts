import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadComparisonReport } from '@arpo/bench';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/run-cli.js';

const tinyConfig = `{
  "tasks": { "arithmetic": { "train": 24, "test": 4 } },
  "model": { "layers": 1, "modelDim": 32, "heads": 2, "contextLength": 192 },
  "sft": { "epochs": 1, "batchSize": 8 },
  "rl": { "steps": 2, "promptsPerStep": 2, "trajectoriesPerPrompt": 4, "maxResponseTokens": 48 },
  "evaluation": { "samples": 2, "maxResponseTokens": 48 }
}
`;

describe('arpo compare (real runtime, tiny model)', () => {
  it('trains each algorithm from the same SFT checkpoint and writes the reports', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-compare-'));
    await writeFile(join(directory, 'tiny.json'), tinyConfig);
    let out = '';
    let error = '';
    const code = await runCli(
      ['compare', '--config', 'tiny.json', '--algos', 'grpo,arpo', '--seeds', '2', '--out', 'compare'],
      { out: (text) => (out += text), error: (text) => (error += text), cwd: directory },
    );
    expect(error).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/grpo\s+\d+\.\d%/);
    const report = await loadComparisonReport(join(directory, 'compare', 'report.json'));
    expect(report.run.seeds).toEqual([1, 2]);
    expect(report.run.budget).toMatchObject({ steps: 2, trajectoriesPerStep: 8 });
    expect(report.algorithms.map((algorithm) => algorithm.name)).toEqual(['grpo', 'arpo']);
    for (const algorithm of report.algorithms) {
      expect(algorithm.training.map((run) => run.steps.map((step) => step.step))).toEqual([
        [0, 1],
        [0, 1],
      ]);
      expect(algorithm.evaluation.samples).toBe(2 * 4 * 2);
      expect(algorithm.evaluation.passAtK.map((entry) => entry.k)).toEqual([1, 2]);
      const [passAt1, passAt2] = algorithm.evaluation.passAtK;
      expect(passAt1?.mean).toBeCloseTo(algorithm.evaluation.accuracy.mean, 10);
      expect(passAt2?.mean ?? 0).toBeGreaterThanOrEqual(passAt1?.mean ?? 0);
      expect(algorithm.trees.length).toBeGreaterThan(0);
    }
    // Both algorithms start from one SFT checkpoint per seed: one SFT state per seed directory.
    const sftState = JSON.parse(
      await readFile(join(directory, 'compare', 'seed-1', 'sft-state.json'), 'utf8'),
    );
    expect(sftState.checkpoint).toContain(join('seed-1', 'checkpoints', 'sft'));
    const html = await readFile(join(directory, 'compare', 'report.html'), 'utf8');
    expect(html).toContain('grpo');
    expect(await readFile(join(directory, 'compare', 'report.md'), 'utf8')).toContain('arpo');
  }, 300_000);
});
