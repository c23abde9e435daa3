import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadComparisonReport, readResultsFile } from '@arpo/bench';
import { generateArithmeticTasks } from '@arpo/tasks';
import { readSafetensors } from '@arpo/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/run-cli.js';

const tinyConfig = `{
  "tasks": { "arithmetic": { "train": 16, "test": 4 } },
  "model": { "layers": 1, "modelDim": 32, "heads": 2, "contextLength": 192 },
  "sft": { "epochs": 1, "batchSize": 8 },
  "rl": { "steps": 2, "promptsPerStep": 2, "trajectoriesPerPrompt": 2, "maxResponseTokens": 48 },
  "evaluation": { "samples": 2, "maxResponseTokens": 48 }
}
`;

async function compare(directory: string, args: string[]) {
  let out = '';
  let error = '';
  const code = await runCli(['compare', '--config', 'tiny.json', '--out', 'compare', ...args], {
    out: (text) => (out += text),
    error: (text) => (error += text),
    cwd: directory,
  });
  return { code, out, error };
}

/** SHA-256 of a checkpoint's weights as the comparison hashes them: names in order, shapes, float bytes. */
async function checkpointHash(checkpoint: string): Promise<string> {
  const { tensors } = await readSafetensors(join(checkpoint, 'model.safetensors'));
  const hash = createHash('sha256');
  for (const name of [...tensors.keys()].sort()) {
    const value = tensors.get(name) as { data: Float32Array; shape: number[] };
    hash.update(`${name}:${value.shape.join('x')};`);
    hash.update(new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength));
  }
  return hash.digest('hex');
}

describe('arpo compare (real runtime, tiny model)', () => {
  let directory: string;
  let first: Awaited<ReturnType<typeof compare>>;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'arpo-cli-compare-'));
    await writeFile(join(directory, 'tiny.json'), tinyConfig);
    first = await compare(directory, ['--algos', 'grpo,dapo,arpo', '--seeds', '1']);
  }, 300_000);

  it('trains grpo, dapo and arpo from one SFT checkpoint and reports mean ± CI, tool calls, tokens and time', async () => {
    expect(first.error).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/dapo\s+\d+\.\d%/);
    const report = await loadComparisonReport(join(directory, 'compare', 'report.json'));
    expect(report.run.seeds).toEqual([1]);
    expect(report.run.budget).toMatchObject({ steps: 2, trajectoriesPerStep: 4 });
    expect(report.run.evaluation).toMatchObject({
      dataset: 'held-out built-in tasks',
      tasks: 4,
      samplesPerTask: 2,
    });
    expect(report.algorithms.map((algorithm) => algorithm.name)).toEqual(['grpo', 'dapo', 'arpo']);
    for (const algorithm of report.algorithms) {
      const { evaluation } = algorithm;
      // Every step is reported, a skipped update too (DAPO drops groups without accuracy spread).
      expect(algorithm.training.map((run) => run.steps.map((step) => step.step))).toEqual([[0, 1]]);
      expect(algorithm.training[0]?.steps.every((step) => step.skipped === 0 || step.skipped === 1)).toBe(
        true,
      );
      expect(evaluation.samples).toBe(4 * 2);
      // Mean ± CI from the bench runner: the interval brackets the mean, pass@1 is the mean.
      const { mean, interval } = evaluation.accuracy;
      expect(mean).toBeGreaterThanOrEqual(0);
      expect(mean).toBeLessThanOrEqual(1);
      expect(interval).toMatchObject({ confidence: 0.95, method: 'percentile-bootstrap', resamples: 2000 });
      expect(interval?.lower).toBeLessThanOrEqual(mean);
      expect(interval?.upper).toBeGreaterThanOrEqual(mean);
      expect(evaluation.passAtK.map((entry) => entry.k)).toEqual([1, 2]);
      expect(evaluation.passAtK[0]?.mean).toBeCloseTo(mean, 12);
      expect(evaluation.passAtK[1]?.mean ?? 0).toBeGreaterThanOrEqual(mean);
      expect(evaluation.accuracy.perSeed).toEqual([{ seed: 1, value: mean }]);

      // The report's numbers are the runner's per-sample results, recomputed here from its results file.
      const results = await readResultsFile(
        join(directory, 'compare', 'seed-1', algorithm.name, `evaluation-after-${algorithm.name}.jsonl`),
      );
      expect(results.header).toMatchObject({ seed: 2, settings: { temperature: 1, maxResponseTokens: 48 } });
      expect(results.records).toHaveLength(8);
      const average = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
      expect(mean).toBeCloseTo(average(results.records.map((record) => (record.correct ? 1 : 0))), 12);
      expect(evaluation.toolCallsPerSample).toBeCloseTo(
        average(results.records.map((record) => record.toolCalls.length)),
        12,
      );
      expect(evaluation.tokensPerSample).toBeCloseTo(
        average(results.records.map((record) => record.tokens.response)),
        12,
      );
      expect(evaluation.tokensPerSample).toBeGreaterThan(0);
      expect(evaluation.wallTimeSeconds.training).toBeGreaterThan(0);
      expect(evaluation.wallTimeSeconds.evaluation).toBeGreaterThan(0);
      expect(evaluation.wallTimeSeconds.total).toBeCloseTo(
        (evaluation.wallTimeSeconds.training ?? 0) + (evaluation.wallTimeSeconds.evaluation ?? 0),
        9,
      );
      expect(evaluation.extra?.greedy_accuracy).toBeGreaterThanOrEqual(0);
      // Training spend counts every generated group, also those DAPO's dynamic sampling dropped, so even a run
      // whose every update was skipped is charged for its rollouts; only a step that kept a group has a tree.
      expect(evaluation.extra?.tokens_computed).toBeGreaterThan(0);
      const trainedSteps = algorithm.training[0]?.steps.filter((step) => step.skipped === 0) ?? [];
      if (trainedSteps.length > 0) expect(algorithm.trees.length).toBeGreaterThan(0);
      else expect(algorithm.name).toBe('dapo');
    }

    // The shared start point: every algorithm's training began from the SFT checkpoint's exact weights.
    const sftState = JSON.parse(
      await readFile(join(directory, 'compare', 'seed-1', 'sft-state.json'), 'utf8'),
    );
    expect(sftState.checkpoint).toContain(join('seed-1', 'checkpoints', 'sft'));
    const expected = await checkpointHash(sftState.checkpoint);
    for (const algorithm of report.algorithms) {
      expect(algorithm.training[0]?.start).toEqual({ checkpoint: sftState.checkpoint, sha256: expected });
    }
    // ... and the hash tells weights apart: each algorithm's trained weights differ from the start.
    const trained = join(directory, 'compare', 'seed-1', 'checkpoints');
    const grpoFinal = join(trained, 'grpo-step-2');
    expect(existsSync(grpoFinal)).toBe(true);
    expect(await checkpointHash(grpoFinal)).not.toBe(expected);

    const html = await readFile(join(directory, 'compare', 'report.html'), 'utf8');
    expect(html).toContain('dapo');
    expect(await readFile(join(directory, 'compare', 'report.md'), 'utf8')).toContain('arpo');
  });

  it('evaluates the same trained runs on a --dataset file, and rejects a bad record before training', async () => {
    const tasks = generateArithmeticTasks({ seed: 1, count: 4, split: 'test', systemPrompt: null });
    const lines = tasks.map((task) =>
      JSON.stringify({ problem: task.prompt.at(-1)?.content, answer: task.references[0] }),
    );
    await writeFile(join(directory, 'mine.jsonl'), `${lines.join('\n')}\n`);
    const second = await compare(directory, [
      '--algos',
      'grpo,dapo,arpo',
      '--seeds',
      '1',
      '--dataset',
      'mine.jsonl',
      '--adapter',
      'math500',
      '--limit',
      '3',
    ]);
    expect(second.error).toBe('');
    expect(second.code).toBe(0);
    // SFT and RL were resumed, not redone; only the evaluation ran.
    expect(second.out).toContain('SFT already done');
    const report = await loadComparisonReport(join(directory, 'compare', 'report.json'));
    expect(report.title).toBe('GRPO vs DAPO vs ARPO on mine.jsonl');
    expect(report.run.evaluation).toMatchObject({
      dataset: `${join(directory, 'mine.jsonl')} (math500)`,
      tasks: 3,
      samplesPerTask: 2,
    });
    for (const algorithm of report.algorithms) {
      expect(algorithm.evaluation.samples).toBe(3 * 2);
      expect(algorithm.evaluation.passAtK.map((entry) => entry.k)).toEqual([1, 2]);
    }

    await writeFile(join(directory, 'bad.jsonl'), `${lines[0]}\n{"problem": "What is 1+1?"}\n`);
    const bad = await compare(directory, [
      '--algos',
      'grpo',
      '--seeds',
      '1',
      '--dataset',
      'bad.jsonl',
      '--adapter',
      'math500',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.error).toContain(`${join(directory, 'bad.jsonl')}:2, field 'answer'`);
    expect(bad.out).not.toContain('SFT');
    const flag = await compare(directory, ['--algos', 'grpo', '--adapter', 'math500']);
    expect(flag.code).not.toBe(0);
    expect(flag.error).toMatch(/--adapter.*needs --dataset FILE/);
  }, 300_000);
});
