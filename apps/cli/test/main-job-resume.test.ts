import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMainJob } from '../src/main-job/main-job.js';
import { defaultRunConfig, mergeRunConfig } from '../src/run-config/run-config.js';

// Tiny but real (Pyodide, tokenizer, model, trainer); GRPO so the KL term to the frozen SFT policy is on.
const config = mergeRunConfig(defaultRunConfig, {
  seed: 3,
  tasks: { arithmetic: { train: 12, test: 2 }, imperfectShare: 0.3 },
  model: { layers: 1, modelDim: 32, heads: 2, contextLength: 160 },
  sft: { epochs: 1, batchSize: 8 },
  rl: {
    algorithm: 'grpo',
    steps: 3,
    promptsPerStep: 2,
    trajectoriesPerPrompt: 3,
    maxResponseTokens: 32,
    checkpointEvery: 2,
  },
  evaluation: { samples: 1, maxResponseTokens: 32 },
});

class SimulatedCrash extends Error {}

async function metricsLines(directory: string) {
  return (await readFile(join(directory, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The lines without wall-clock measurements (the only thing that differs between two runs). */
function withoutTimings(lines: Record<string, unknown>[]) {
  return lines.map((line) =>
    Object.fromEntries(Object.entries(line).filter(([name]) => !/^time_|_ms$|seconds/.test(name))),
  );
}

describe('main job resume', () => {
  it("leaves metrics.jsonl equal to an uninterrupted run's, with SFT and RL lines labelled", async () => {
    const quiet = () => {};
    const straight = await mkdtemp(join(tmpdir(), 'arpo-main-straight-'));
    await runMainJob({ config, directory: straight, log: quiet, write: quiet });

    const interrupted = await mkdtemp(join(tmpdir(), 'arpo-main-crash-'));
    // Dies after RL step 3's metrics line is written but before its checkpoint (the last one is at step 2).
    const crash = runMainJob({
      config,
      directory: interrupted,
      log: quiet,
      write: (text) => {
        if (text.includes('step 3/3')) throw new SimulatedCrash('simulated crash');
      },
    });
    await expect(crash).rejects.toBeInstanceOf(SimulatedCrash);
    const partial = await metricsLines(interrupted);
    expect(partial.filter((line) => line.phase === 'rl').map((line) => line.step)).toEqual([0, 1, 2]);

    const resumed = await runMainJob({ config, directory: interrupted, log: quiet, write: quiet });
    expect(resumed.rl.resumedFrom).toBe(2);

    const expected = await metricsLines(straight);
    const actual = await metricsLines(interrupted);
    expect(withoutTimings(actual)).toEqual(withoutTimings(expected));
    // Labelled by phase: SFT step 0 and RL step 0 are different lines, each step appears once.
    const phases = [...new Set(actual.map((line) => `${line.phase}/${line.kind}`))];
    expect(phases).toEqual(['sft/train', 'after-sft/eval', 'rl/train', 'after-grpo/eval']);
    expect(actual.filter((line) => line.phase === 'rl').map((line) => line.step)).toEqual([0, 1, 2]);
    expect(actual.filter((line) => line.phase === 'sft' && line.step === 0)).toHaveLength(1);
    // GRPO's KL to the frozen SFT policy is on in the product: 0 before the first update, then positive.
    const rl = actual.filter((line) => line.phase === 'rl');
    expect(rl[0]?.reference_kl).toBe(0);
    expect(rl[2]?.reference_kl as number).toBeGreaterThan(0);
  }, 300_000);
});
