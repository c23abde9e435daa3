import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type EventSink, InvalidArgumentError } from '@arpo/core';
import type { RunConfig } from '../run-config/run-config.js';
import { checkSavedTokenizer, createEmbeddedSetup, saveTokenizer } from './embedded-setup.js';
import {
  type EvaluationSummary,
  evaluationPhase,
  readJson,
  rlPhase,
  sftPhase,
  writeJsonAtomic,
} from './phases.js';
import { createProgressReporter } from './progress.js';
import { phaseEvents, type RunPhase, trimMetricsForResume } from './run-metrics.js';

export interface MainJobOptions {
  config: RunConfig;
  /** Where the run's files go. Re-running with the same directory and config resumes. */
  directory: string;
  log: (line: string) => void;
  /** Write progress in place (a terminal). */
  live?: boolean;
  write?: (text: string) => void;
  events?: EventSink;
}

export interface MainJobSummary {
  directory: string;
  algorithm: string;
  seed: number;
  before: EvaluationSummary;
  after: EvaluationSummary;
  sft: { steps: number; epochLosses: number[]; resumed: boolean };
  rl: { steps: number; resumedFrom: number; lastMetrics: Record<string, number>; checkpoint: string };
  seconds: { total: number; sft: number; rl: number; evaluation: number };
}

/**
 * Refuses to mix runs: a directory that already holds a run must have been made with the same config.
 * Returns whether there was one (the job then resumes).
 */
export async function claimRunDirectory(directory: string, config: RunConfig): Promise<boolean> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, 'config.json');
  if (!existsSync(path)) {
    await writeJsonAtomic(path, config);
    return false;
  }
  const saved = await readJson<RunConfig>(path);
  if (JSON.stringify(saved) !== JSON.stringify(config)) {
    throw new InvalidArgumentError({
      argument: '--out',
      message: `${directory} holds a run with another config (${path}); choose another --out or the same settings`,
    });
  }
  return true;
}

/**
 * The main job: built-in tasks → teacher demonstrations (with a share of mistakes) → a byte-level tokenizer and
 * a small decoder transformer trained in-process (SFT cold start) → evaluation → RL (ARPO by default) →
 * evaluation. Saves the config, tokenizer, metrics (JSONL), transcripts, evaluations, checkpoints and a summary
 * under `directory`. Killed at any point, the same command continues where it stopped: SFT is not redone, RL
 * resumes from its last checkpoint, and `metrics.jsonl` (each line labelled with its `phase`) ends up as an
 * uninterrupted run's.
 */
export async function runMainJob(options: MainJobOptions): Promise<MainJobSummary> {
  const started = performance.now();
  const { config, directory, log } = options;
  const resuming = await claimRunDirectory(directory, config);
  if (resuming) log(`Resuming the run in ${directory}.`);
  const metricsPath = join(directory, 'metrics.jsonl');
  // The continuation rewrites what the interrupted run wrote after its last saved state: drop those lines.
  if (resuming) await trimMetricsForResume(directory);
  const events = (phase: RunPhase) => phaseEvents(directory, phase, options.events);
  const setup = await createEmbeddedSetup({ config, directory, log });
  try {
    const tokenizerFolder = join(directory, 'tokenizer');
    if (existsSync(join(tokenizerFolder, 'tokenizer.json')))
      await checkSavedTokenizer(setup, tokenizerFolder);
    else await saveTokenizer(setup, tokenizerFolder);
    const sft = await sftPhase({ setup, directory, events: events('sft'), log });
    const beforePath = join(directory, 'evaluation-after-sft.json');
    const before = existsSync(beforePath)
      ? await readJson<EvaluationSummary>(beforePath)
      : await evaluationPhase({ setup, directory, name: 'after-sft', step: 0, events: events('after-sft') });
    log(`Evaluation after SFT: ${formatEvaluation(before, config)}`);
    const write = options.write ?? ((text: string) => log(text.trimEnd()));
    const rl = await rlPhase({
      setup,
      directory,
      events: events('rl'),
      log,
      progress: createProgressReporter({
        label: `${config.rl.algorithm} step`,
        total: config.rl.steps,
        write,
        live: options.live === true,
      }),
    });
    const after = await evaluationPhase({
      setup,
      directory,
      name: `after-${config.rl.algorithm}`,
      step: config.rl.steps,
      events: events(`after-${config.rl.algorithm}`),
    });
    log(`Evaluation after ${config.rl.algorithm}: ${formatEvaluation(after, config)}`);
    const state = await readJson<{ checkpoint: string }>(join(directory, 'training-state.json')).catch(
      () => ({
        checkpoint: sft.checkpoint,
      }),
    );
    const summary: MainJobSummary = {
      directory,
      algorithm: config.rl.algorithm,
      seed: config.seed,
      before,
      after,
      sft: { steps: sft.steps, epochLosses: sft.epochLosses, resumed: sft.resumed },
      rl: {
        steps: config.rl.steps,
        resumedFrom: rl.resumedFrom,
        lastMetrics: rl.lastMetrics,
        checkpoint: state.checkpoint,
      },
      seconds: {
        total: (performance.now() - started) / 1000,
        sft: sft.seconds,
        rl: rl.seconds,
        evaluation: before.seconds + after.seconds,
      },
    };
    await writeJsonAtomic(join(directory, 'summary.json'), summary);
    log(`Saved: ${join(directory, 'summary.json')}, ${metricsPath}, checkpoint ${state.checkpoint}`);
    return summary;
  } finally {
    await setup.close();
  }
}

export function formatEvaluation(result: EvaluationSummary, config: RunConfig): string {
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  return (
    `accuracy ${percent(result.accuracy)} greedy, ${percent(result.sampledAccuracy)} sampled ` +
    `(T=${config.evaluation.temperature}, mean of ${config.evaluation.samples}), ` +
    `reward ${result.meanReward.toFixed(3)}, tool use ${percent(result.toolUse)}, ` +
    `tool calls/sample ${result.toolCallsPerSample.toFixed(2)}, tool errors ${percent(result.toolErrors)}, ` +
    `format errors ${percent(result.formatErrors)}`
  );
}
