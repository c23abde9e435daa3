import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getAlgorithmPreset } from '@arpo/advantage';
import { createRandom, type EventSink, fanOutEventSink, type Task } from '@arpo/core';
import {
  createJsonlMetricsSink,
  type EvaluationResult,
  evaluatePolicy,
  type RlAlgorithmSettings,
  runRlStep,
} from '@arpo/trainer';
import { createArithmeticSetup, runSftPhase } from './arithmetic-setup.js';

/** Sizes of the main job; the defaults fit a 2-core laptop. */
export interface MainJobOptions {
  seed: number;
  /** Where the run's files go. */
  directory: string;
  trainTasks: number;
  testTasks: number;
  imperfectShare: number;
  sftEpochs: number;
  rlSteps: number;
  promptsPerStep: number;
  algorithm: 'grpo' | 'dapo' | 'arpo';
  /** RL learning rate. */
  rlLearningRate: number;
  log: (line: string) => void;
  events?: EventSink;
}

export const defaultMainJobOptions: Omit<MainJobOptions, 'directory' | 'log'> = {
  seed: 1,
  trainTasks: 800,
  testTasks: 100,
  imperfectShare: 0.3,
  sftEpochs: 8,
  rlSteps: 40,
  rlLearningRate: 5e-4,
  promptsPerStep: 8,
  algorithm: 'arpo',
};

export interface MainJobSummary {
  directory: string;
  algorithm: string;
  before: Omit<EvaluationResult, 'transcripts'> & { sampledAccuracy: number };
  after: Omit<EvaluationResult, 'transcripts'> & { sampledAccuracy: number };
  sft: { steps: number; epochLosses: number[] };
  rl: { steps: number; lastMetrics: Record<string, number> };
  seconds: { total: number; sft: number; rl: number; evaluation: number };
}

/** The algorithm settings of the main job: the reference preset's objective, sized for a tiny CPU model. */
export function mainJobAlgorithm(
  name: MainJobOptions['algorithm'],
  learningRate = defaultMainJobOptions.rlLearningRate,
): RlAlgorithmSettings {
  const preset = getAlgorithmPreset(name);
  const rollout = { temperature: 1, maxResponseTokens: 160, maxToolCalls: 3, toolTimeoutMs: 10_000 };
  const optimizer = { learningRate, weightDecay: 0, maxGradientNorm: 1 };
  const loss = { ...preset.loss, klCoefficient: 0 };
  if (name === 'arpo') {
    return {
      name,
      sampler: { kind: 'arpo', arpo: { mode: 'reference', trajectories: 8, initial: 4, branchesPerFork: 1 } },
      estimator: preset.estimator,
      loss,
      optimizer,
      rollout,
      microBatchSize: 16,
    };
  }
  return {
    name,
    sampler: { kind: 'independent', trajectoriesPerPrompt: 8 },
    estimator: preset.estimator,
    loss,
    optimizer,
    rollout,
    microBatchSize: 16,
    ...(name === 'dapo'
      ? {
          dynamicSampling: { maxRounds: 3 },
          overlong: { maxResponseLength: 160, bufferLength: 40, penaltyFactor: 1 },
        }
      : {}),
  };
}

function withoutTranscripts<T extends EvaluationResult>(result: T): Omit<T, 'transcripts'> {
  const { transcripts: _transcripts, ...rest } = result;
  return rest;
}

function formatEvaluation(result: EvaluationResult & { sampledAccuracy: number }): string {
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  return (
    `accuracy ${percent(result.accuracy)} greedy, ${percent(result.sampledAccuracy)} sampled (T=1, mean of 4), ` +
    `reward ${result.meanReward.toFixed(3)}, tool use ${percent(result.toolUse)}, ` +
    `tool calls/sample ${result.toolCallsPerSample.toFixed(2)}, tool errors ${percent(result.toolErrors)}, ` +
    `format errors ${percent(result.formatErrors)}`
  );
}

/**
 * The main job: built-in Python arithmetic tasks → teacher demonstrations (with a share of mistakes) → a BPE
 * tokenizer and a small decoder transformer trained in-process (SFT cold start) → evaluation → RL (ARPO by
 * default) → evaluation. Saves metrics (JSONL), a summary and the final checkpoint under `directory`.
 */
export async function runMainJob(options: MainJobOptions): Promise<MainJobSummary> {
  const started = performance.now();
  const { log } = options;
  await mkdir(options.directory, { recursive: true });
  const metricsPath = join(options.directory, 'metrics.jsonl');
  const events = fanOutEventSink([
    createJsonlMetricsSink(metricsPath),
    ...(options.events ? [options.events] : []),
  ]);

  const setup = await createArithmeticSetup({
    seed: options.seed,
    trainTasks: options.trainTasks,
    testTasks: options.testTasks,
    imperfectShare: options.imperfectShare,
    directory: options.directory,
    log,
  });
  try {
    const { backend, environment, train, test } = setup;
    const sft = await runSftPhase(setup, { epochs: options.sftEpochs, seed: options.seed, events, log });
    const sftSeconds = sft.seconds;

    let evaluationSeconds = 0;
    // Greedy accuracy, and mean accuracy over 4 samples at temperature 1 (what RL trains): both are reported.
    const evaluate = async (step: number, name: string) => {
      const evaluationStarted = performance.now();
      const greedy = await evaluatePolicy({
        environment,
        tasks: test,
        seed: options.seed,
        maxResponseTokens: 160,
        events,
        step,
      });
      const sampled = await evaluatePolicy({
        environment,
        tasks: test,
        seed: options.seed + 1,
        samples: 4,
        temperature: 1,
        maxResponseTokens: 160,
        step,
      });
      evaluationSeconds += (performance.now() - evaluationStarted) / 1000;
      const lines = greedy.transcripts.map((transcript) => JSON.stringify(transcript)).join('\n');
      await writeFile(join(options.directory, `transcripts-${name}.jsonl`), `${lines}\n`);
      return { ...greedy, sampledAccuracy: sampled.accuracy };
    };
    const before = await evaluate(0, 'after-sft');
    log(`Evaluation after SFT: ${formatEvaluation(before)}`);

    const algorithm = mainJobAlgorithm(options.algorithm, options.rlLearningRate);
    const random = createRandom({ seed: options.seed }).derive('rl-prompts');
    const rlStarted = performance.now();
    let lastMetrics: Record<string, number> = {};
    for (let step = 0; step < options.rlSteps; step++) {
      const pool: Task[] = random
        .shuffle([...train])
        .slice(0, options.promptsPerStep * (algorithm.dynamicSampling ? 3 : 1));
      const result = await runRlStep({
        step,
        seed: createRandom({ seed: options.seed }).derive(`rl-${step}`).nextUint32(),
        backend,
        environment,
        tasks: pool,
        batchSize: options.promptsPerStep,
        algorithm,
        events,
      });
      lastMetrics = result.metrics;
      log(
        `  ${algorithm.name} step ${step + 1}/${options.rlSteps}: reward ${result.metrics.reward?.toFixed(3)}, accuracy ${((result.metrics.accuracy ?? 0) * 100).toFixed(0)}%, trajectories ${result.metrics.trajectories}, tokens computed ${result.metrics.tokens_computed} / reused ${result.metrics.tokens_reused}${result.skipped ? ' (update skipped)' : ''}`,
      );
    }
    const rlSeconds = (performance.now() - rlStarted) / 1000;
    const after = await evaluate(options.rlSteps, `after-${options.algorithm}`);
    log(`Evaluation after ${algorithm.name}: ${formatEvaluation(after)}`);
    const checkpoint = await backend.saveState('final');
    const summary: MainJobSummary = {
      directory: options.directory,
      algorithm: algorithm.name,
      before: withoutTranscripts(before),
      after: withoutTranscripts(after),
      sft: { steps: sft.steps, epochLosses: sft.epochLosses },
      rl: { steps: options.rlSteps, lastMetrics },
      seconds: {
        total: (performance.now() - started) / 1000,
        sft: sftSeconds,
        rl: rlSeconds,
        evaluation: evaluationSeconds,
      },
    };
    await writeFile(join(options.directory, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    log(`Saved: ${join(options.directory, 'summary.json')}, ${metricsPath}, checkpoint ${checkpoint.path}`);
    return summary;
  } finally {
    await setup.close();
  }
}
