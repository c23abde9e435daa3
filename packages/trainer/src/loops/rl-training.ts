import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createRandom,
  type EventSink,
  InvalidArgumentError,
  silentEventSink,
  type Task,
  type TrainerBackend,
} from '@arpo/core';
import { type RlAlgorithmSettings, type RlEnvironment, type RlStepResult, runRlStep } from './rl-step.js';

export interface RlTrainingOptions {
  /** Any TrainerBackend: the local engine or a remote one (then `environment.policy` samples its weights). */
  backend: TrainerBackend;
  environment: RlEnvironment;
  /** The training pool; each step draws `promptsPerStep` of them. */
  tasks: readonly Task[];
  algorithm: RlAlgorithmSettings;
  steps: number;
  promptsPerStep: number;
  seed: number;
  /** Where checkpoints and `training-state.json` go. */
  directory: string;
  /** Save a checkpoint every this many steps (and after the last). Default 1. */
  checkpointEvery?: number;
  /** Prefix of checkpoint names (`<prefix>step-<n>`), so several runs can share one backend directory. */
  checkpointPrefix?: string;
  /** Continue from the last checkpoint in `directory` if there is one. Default true. */
  resume?: boolean;
  events?: EventSink;
  onStep?: (step: number, result: RlStepResult) => void;
  signal?: AbortSignal;
}

interface TrainingState {
  format: 'arpo-rl-training';
  /** Steps completed. */
  step: number;
  seed: number;
  checkpoint: string;
}

const stateFile = 'training-state.json';

/** The prompts of step `step`: a pure function of the seed and the step, so a resumed run draws the same ones. */
export function promptsForStep(
  tasks: readonly Task[],
  options: { seed: number; step: number; count: number },
): Task[] {
  const pool = createRandom({ seed: options.seed })
    .derive(`prompts-${options.step}`)
    .shuffle([...tasks]);
  return pool.slice(0, Math.min(options.count, pool.length));
}

/**
 * RL training over many steps with checkpoints: weights, optimizer moments and the step count are saved every
 * `checkpointEvery` steps (files written atomically, then `training-state.json` switched over). Every random
 * choice of a step derives from (seed, step), so a run killed at any point and resumed from its last checkpoint
 * continues exactly as the uninterrupted run would (tested with kill -9).
 */
export async function runRlTraining(
  options: RlTrainingOptions,
): Promise<{ completedSteps: number; resumedFrom: number }> {
  if (!Number.isInteger(options.steps) || options.steps < 0) {
    throw new InvalidArgumentError({
      argument: 'steps',
      message: `must be a non-negative integer, got ${options.steps}`,
    });
  }
  const events = options.events ?? silentEventSink;
  const every = options.checkpointEvery ?? 1;
  await mkdir(options.directory, { recursive: true });
  const statePath = join(options.directory, stateFile);
  let start = 0;
  if (options.resume !== false && existsSync(statePath)) {
    const state = JSON.parse(await readFile(statePath, 'utf8')) as TrainingState;
    if (state.format !== 'arpo-rl-training' || state.seed !== options.seed) {
      throw new InvalidArgumentError({
        argument: 'directory',
        message: `${statePath} belongs to another run (format ${state.format}, seed ${state.seed}); use a new directory`,
      });
    }
    await options.backend.loadState(state.checkpoint);
    start = state.step;
    events.emit({ type: 'log', level: 'info', message: `resumed from step ${start} (${state.checkpoint})` });
  }
  for (let step = start; step < options.steps; step++) {
    if (options.signal?.aborted) break;
    const result = await runRlStep({
      step,
      seed: createRandom({ seed: options.seed }).derive(`step-${step}`).nextUint32(),
      backend: options.backend,
      environment: options.environment,
      // Dynamic sampling (DAPO) draws extra prompts to replace the groups it filters out.
      tasks: promptsForStep(options.tasks, {
        seed: options.seed,
        step,
        count: options.promptsPerStep * (options.algorithm.dynamicSampling?.maxRounds ?? 1),
      }),
      batchSize: options.promptsPerStep,
      algorithm: options.algorithm,
      events,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    options.onStep?.(step, result);
    const completed = step + 1;
    if (completed % every === 0 || completed === options.steps) {
      const { path } = await options.backend.saveState(`${options.checkpointPrefix ?? ''}step-${completed}`);
      const state: TrainingState = {
        format: 'arpo-rl-training',
        step: completed,
        seed: options.seed,
        checkpoint: path,
      };
      const temporary = `${statePath}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
      await rename(temporary, statePath);
      events.emit({ type: 'checkpoint-save', step: completed, path });
    }
  }
  return { completedSteps: options.steps, resumedFrom: start };
}
