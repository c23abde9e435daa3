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
import { MissingReferenceError } from '../reference/missing-reference-error.js';
import { isReferenceSource, type ReferenceModel } from '../reference/reference-model.js';
import { ResumeMismatchError } from './resume-mismatch-error.js';
import { checkRlRandomManifest, type RlRandomManifest, rlRandomManifest } from './rl-random-manifest.js';
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
  /**
   * The frozen reference of the KL term (`algorithm.loss.klCoefficient` > 0). Default: the backend's weights when
   * training starts (the SFT policy), frozen and saved as `<prefix>reference.safetensors` in `directory` so a
   * resumed run keeps the same reference; needs a backend that can freeze one (the local engine).
   */
  reference?: ReferenceModel;
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
  /** How the randomness of step `step` onwards derives from the seed (the RNG state of the checkpoint). */
  random?: RlRandomManifest;
  /** The frozen KL reference's weights, when the loss has a KL term. */
  reference?: string;
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

/** How many prompts a step draws: the batch, or every round's worth under dynamic sampling. */
export function promptsDrawnPerStep(
  promptsPerStep: number,
  dynamicSampling: { maxRounds: number; promptsPerRound?: number } | undefined,
): number {
  if (dynamicSampling === undefined) return promptsPerStep;
  return (dynamicSampling.promptsPerRound ?? promptsPerStep * 3) * dynamicSampling.maxRounds;
}

/**
 * RL training over many steps with checkpoints: weights, optimizer moments and the step count are saved every
 * `checkpointEvery` steps (files written atomically, then `training-state.json` switched over, with the RNG
 * derivation of the next step, checked on resume). Every random choice of a step derives from (seed, step), so a
 * run killed at any point and resumed from its last checkpoint continues exactly as the uninterrupted run would
 * (tested with kill -9). With a KL term, the starting weights are frozen as the reference (and saved with the
 * run).
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
  const klCoefficient = options.algorithm.loss.klCoefficient ?? 0;
  const referencePath = join(options.directory, `${options.checkpointPrefix ?? ''}reference.safetensors`);
  let reference = options.reference;
  if (options.resume !== false && existsSync(statePath)) {
    const state = JSON.parse(await readFile(statePath, 'utf8')) as TrainingState;
    if (state.format !== 'arpo-rl-training') {
      throw new ResumeMismatchError({
        source: statePath,
        field: 'format',
        message: `is '${state.format}', not an RL training state`,
      });
    }
    if (state.seed !== options.seed) {
      throw new ResumeMismatchError({
        source: statePath,
        field: 'seed',
        message: `the checkpoint was written by a run with seed ${state.seed}, this run has seed ${options.seed}`,
      });
    }
    checkRlRandomManifest({ saved: state.random, seed: options.seed, step: state.step, source: statePath });
    if (klCoefficient > 0 && reference === undefined && isReferenceSource(options.backend)) {
      // The reference is the policy RL started from, not the checkpoint's weights.
      if (!existsSync(referencePath)) {
        throw new ResumeMismatchError({
          source: statePath,
          field: 'reference',
          message: `the loss has a KL term but ${referencePath} (the frozen starting policy) is missing`,
        });
      }
      reference = await options.backend.loadReference(referencePath);
    }
    await options.backend.loadState(state.checkpoint);
    start = state.step;
    events.emit({ type: 'log', level: 'info', message: `resumed from step ${start} (${state.checkpoint})` });
  }
  if (klCoefficient > 0 && reference === undefined) {
    if (!isReferenceSource(options.backend)) {
      throw new MissingReferenceError({ backend: options.backend.id, klCoefficient });
    }
    const frozen = options.backend.freezeReference();
    await frozen.save(referencePath);
    reference = frozen;
  }
  for (let step = start; step < options.steps; step++) {
    if (options.signal?.aborted) break;
    const result = await runRlStep({
      step,
      seed: createRandom({ seed: options.seed }).derive(`step-${step}`).nextUint32(),
      backend: options.backend,
      environment: options.environment,
      // Dynamic sampling (DAPO) draws extra prompts to replace the groups it filters out: each of its rounds
      // samples `promptsPerRound` (default 3 × the batch, as runRlStep) fresh prompts.
      tasks: promptsForStep(options.tasks, {
        seed: options.seed,
        step,
        count: promptsDrawnPerStep(options.promptsPerStep, options.algorithm.dynamicSampling),
      }),
      batchSize: options.promptsPerStep,
      algorithm: options.algorithm,
      ...(reference === undefined ? {} : { reference }),
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
        random: rlRandomManifest(options.seed, completed),
        ...(klCoefficient > 0 && options.reference === undefined ? { reference: referencePath } : {}),
      };
      const temporary = `${statePath}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
      await rename(temporary, statePath);
      events.emit({ type: 'checkpoint-save', step: completed, path });
    }
  }
  return { completedSteps: options.steps, resumedFrom: start };
}
