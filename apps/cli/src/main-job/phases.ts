import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getAlgorithmPreset } from '@arpo/advantage';
import type { EventSink } from '@arpo/core';
import {
  type EvaluationResult,
  evaluatePolicy,
  type RlAlgorithmSettings,
  type RlStepResult,
  runRlTraining,
} from '@arpo/trainer';
import type { RunConfig } from '../run-config/run-config.js';
import { type EmbeddedSetup, runSftPhase } from './embedded-setup.js';
import type { ProgressReporter } from './progress.js';

/** Written next to the SFT checkpoint when SFT finished; its presence makes a re-run skip SFT. */
export interface SftState {
  format: 'arpo-sft';
  checkpoint: string;
  steps: number;
  epochLosses: number[];
  seconds: number;
}

/** An evaluation without its transcripts (those go to a JSONL file). */
export type EvaluationSummary = Omit<EvaluationResult, 'transcripts'> & {
  /** Mean accuracy over `evaluation.samples` samples at `evaluation.temperature` (what RL optimises). */
  sampledAccuracy: number;
  /** Correct samples per task at temperature (for pass@k), in task order. */
  sampledPerTask: { taskId: string; samples: number; correct: number }[];
  sampledToolCallsPerSample: number;
  sampledResponseTokens: number;
  seconds: number;
};

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, path);
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/**
 * The RL settings for a run config: the algorithm's reference preset (its loss, including GRPO's KL term to the
 * frozen SFT policy), sized for a tiny CPU model; `rl.klCoefficient`, `rl.klEstimator` and
 * `rl.entropyCoefficient` override the preset's.
 */
export function algorithmSettings(config: RunConfig['rl']): RlAlgorithmSettings {
  const preset = getAlgorithmPreset(config.algorithm);
  const rollout = {
    temperature: config.temperature,
    maxResponseTokens: config.maxResponseTokens,
    maxToolCalls: config.maxToolCalls,
    toolTimeoutMs: 10_000,
  };
  const optimizer = { learningRate: config.learningRate, weightDecay: 0, maxGradientNorm: 1 };
  // KL to the frozen SFT policy and the entropy bonus: the preset's unless the config sets them.
  const loss = {
    ...preset.loss,
    ...(config.klCoefficient === undefined ? {} : { klCoefficient: config.klCoefficient }),
    ...(config.klEstimator === undefined ? {} : { klEstimator: config.klEstimator }),
    ...(config.entropyCoefficient === undefined ? {} : { entropyCoefficient: config.entropyCoefficient }),
  };
  const common = { estimator: preset.estimator, loss, optimizer, rollout, microBatchSize: 16 };
  if (config.algorithm === 'arpo') {
    const trajectories = config.trajectoriesPerPrompt;
    return {
      name: 'arpo',
      sampler: {
        kind: 'arpo',
        arpo: {
          mode: 'reference',
          trajectories,
          initial: Math.max(1, Math.floor(trajectories / 2)),
          branchesPerFork: 1,
        },
      },
      ...common,
    };
  }
  return {
    name: config.algorithm,
    sampler: { kind: 'independent', trajectoriesPerPrompt: config.trajectoriesPerPrompt },
    ...common,
    ...(config.algorithm === 'dapo'
      ? {
          dynamicSampling: { maxRounds: 3 },
          overlong: {
            maxResponseLength: config.maxResponseTokens,
            bufferLength: Math.floor(config.maxResponseTokens / 4),
            penaltyFactor: 1,
          },
        }
      : {}),
  };
}

/**
 * SFT, or its result when `directory/sft-state.json` says it already ran (a re-run resumes after it). The weights
 * and optimizer state are saved as checkpoint `sft`.
 */
export async function sftPhase(options: {
  setup: EmbeddedSetup;
  directory: string;
  events?: EventSink;
  log: (line: string) => void;
}): Promise<SftState & { resumed: boolean }> {
  const { setup, directory, log } = options;
  const statePath = join(directory, 'sft-state.json');
  if (existsSync(statePath)) {
    const state = await readJson<SftState>(statePath);
    await setup.backend.loadState(state.checkpoint);
    log(`SFT already done (${statePath}); loaded ${state.checkpoint}.`);
    return { ...state, resumed: true };
  }
  const result = await runSftPhase(setup, {
    log,
    ...(options.events === undefined ? {} : { events: options.events }),
  });
  const { path } = await setup.backend.saveState('sft');
  const state: SftState = {
    format: 'arpo-sft',
    checkpoint: path,
    steps: result.steps,
    epochLosses: result.epochLosses,
    seconds: result.seconds,
  };
  await writeJsonAtomic(statePath, state);
  return { ...state, resumed: false };
}

/**
 * Greedy accuracy plus the mean over several samples at temperature (both reported: greedy is what a user
 * deploys, sampled is what RL trains). Writes `evaluation-<name>.json` and `transcripts-<name>.jsonl`.
 */
export async function evaluationPhase(options: {
  setup: EmbeddedSetup;
  directory: string;
  name: string;
  step: number;
  events?: EventSink;
}): Promise<EvaluationSummary> {
  const { setup, directory, name, step } = options;
  const { evaluation, seed } = setup.config;
  const started = performance.now();
  const greedy = await evaluatePolicy({
    environment: setup.environment,
    tasks: setup.test,
    seed,
    maxResponseTokens: evaluation.maxResponseTokens,
    maxToolCalls: setup.config.rl.maxToolCalls,
    step,
    ...(options.events === undefined ? {} : { events: options.events }),
  });
  const sampled = await evaluatePolicy({
    environment: setup.environment,
    tasks: setup.test,
    seed: seed + 1,
    samples: evaluation.samples,
    temperature: evaluation.temperature,
    maxResponseTokens: evaluation.maxResponseTokens,
    maxToolCalls: setup.config.rl.maxToolCalls,
    step,
  });
  const { transcripts, ...rest } = greedy;
  const perTask = new Map<string, { taskId: string; samples: number; correct: number }>();
  for (const transcript of sampled.transcripts) {
    const entry = perTask.get(transcript.taskId) ?? { taskId: transcript.taskId, samples: 0, correct: 0 };
    entry.samples += 1;
    entry.correct += transcript.correct >= 1 ? 1 : 0;
    perTask.set(transcript.taskId, entry);
  }
  const summary: EvaluationSummary = {
    ...rest,
    sampledAccuracy: sampled.accuracy,
    sampledPerTask: [...perTask.values()],
    sampledToolCallsPerSample: sampled.toolCallsPerSample,
    sampledResponseTokens: sampled.meanResponseTokens,
    seconds: (performance.now() - started) / 1000,
  };
  await mkdir(directory, { recursive: true });
  await writeFile(
    join(directory, `transcripts-${name}.jsonl`),
    `${transcripts.map((transcript) => JSON.stringify(transcript)).join('\n')}\n`,
  );
  await writeJsonAtomic(join(directory, `evaluation-${name}.json`), summary);
  return summary;
}

/**
 * RL from the backend's current weights with checkpoints every `rl.checkpointEvery` steps; when `directory`
 * holds a `training-state.json` of the same seed, it continues from that checkpoint (exact resume).
 */
export async function rlPhase(options: {
  setup: EmbeddedSetup;
  directory: string;
  events?: EventSink;
  progress?: ProgressReporter;
  /** RL settings other than the setup's (to train several algorithms from one setup). */
  rl?: RunConfig['rl'];
  checkpointPrefix?: string;
  onStep?: (step: number, result: RlStepResult) => void;
  log: (line: string) => void;
}): Promise<{ resumedFrom: number; lastMetrics: Record<string, number>; seconds: number }> {
  const { setup, directory, log } = options;
  const { seed } = setup.config;
  const rl = options.rl ?? setup.config.rl;
  const algorithm = algorithmSettings(rl);
  const started = performance.now();
  let lastMetrics: Record<string, number> = {};
  const result = await runRlTraining({
    backend: setup.backend,
    environment: setup.environment,
    tasks: setup.train,
    algorithm,
    steps: rl.steps,
    promptsPerStep: rl.promptsPerStep,
    seed,
    directory,
    checkpointEvery: rl.checkpointEvery,
    ...(options.checkpointPrefix === undefined ? {} : { checkpointPrefix: options.checkpointPrefix }),
    ...(options.events === undefined ? {} : { events: options.events }),
    onStep: (step, stepResult) => {
      options.onStep?.(step, stepResult);
      lastMetrics = stepResult.metrics;
      const metrics = stepResult.metrics;
      const line = `reward ${metrics.reward?.toFixed(3)}, accuracy ${((metrics.accuracy ?? 0) * 100).toFixed(0)}%, tool calls/trajectory ${(metrics.tool_calls_per_trajectory ?? 0).toFixed(2)}, tokens computed ${metrics.tokens_computed} / reused ${metrics.tokens_reused}${stepResult.skipped ? ' (update skipped)' : ''}`;
      if (options.progress) options.progress.update(step + 1, line);
      else log(`  ${algorithm.name} step ${step + 1}/${rl.steps}: ${line}`);
    },
  });
  options.progress?.done();
  if (result.resumedFrom > 0) log(`Resumed RL from step ${result.resumedFrom}.`);
  return { resumedFrom: result.resumedFrom, lastMetrics, seconds: (performance.now() - started) / 1000 };
}
