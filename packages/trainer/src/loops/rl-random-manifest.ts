import { createRandom, type RandomState } from '@arpo/core';
import { ResumeMismatchError } from './resume-mismatch-error.js';

/**
 * How every random choice of an RL run derives from its seed, written into each checkpoint's manifest
 * (`training-state.json`). Nothing random carries state across steps: step `n` uses generators derived from
 * (seed, n) only, so this record is the whole RNG state a resume needs, and a resume recomputes and checks it.
 */
export interface RlRandomManifest {
  algorithm: 'xoshiro128**';
  /** The run's seed. */
  seed: number;
  /** The step the resumed run starts with. */
  nextStep: number;
  /** `createRandom({ seed }).derive('step-<nextStep>').nextUint32()`: the seed handed to that step. */
  nextStepSeed: number;
  /** The state of `createRandom({ seed }).derive('prompts-<nextStep>')`, which shuffles that step's prompts. */
  nextPromptsState: RandomState;
  /** The labels of the derived streams, `<n>` being the step and `<r>` the sampling round. */
  streams: {
    prompts: 'createRandom({ seed }).derive(`prompts-<n>`)';
    step: 'createRandom({ seed }).derive(`step-<n>`).nextUint32()';
    rollout: 'createRandom({ seed: stepSeed }).derive(`rollout-<r>`).nextUint32()';
    miniBatches: "createRandom({ seed: stepSeed }).derive('minibatches')";
  };
}

/** The manifest of a run with `seed` that continues at `nextStep`. */
export function rlRandomManifest(seed: number, nextStep: number): RlRandomManifest {
  const root = createRandom({ seed });
  return {
    algorithm: 'xoshiro128**',
    seed,
    nextStep,
    nextStepSeed: root.derive(`step-${nextStep}`).nextUint32(),
    nextPromptsState: root.derive(`prompts-${nextStep}`).state(),
    streams: {
      prompts: 'createRandom({ seed }).derive(`prompts-<n>`)',
      step: 'createRandom({ seed }).derive(`step-<n>`).nextUint32()',
      rollout: 'createRandom({ seed: stepSeed }).derive(`rollout-<r>`).nextUint32()',
      miniBatches: "createRandom({ seed: stepSeed }).derive('minibatches')",
    },
  };
}

/**
 * Checks a checkpoint's manifest against the run resuming from it: the seed must be the same and the derivation
 * must reproduce the saved state (it would not if the code deriving it changed), else the resumed run would not
 * continue the interrupted one.
 */
export function checkRlRandomManifest(options: {
  saved: RlRandomManifest | undefined;
  seed: number;
  step: number;
  source: string;
}): void {
  const { saved, seed, step, source } = options;
  if (saved === undefined) return; // Checkpoints written before the manifest existed: the seed was checked.
  if (saved.seed !== seed) {
    throw new ResumeMismatchError({
      source,
      field: 'random.seed',
      message: `the checkpoint was written by a run with seed ${saved.seed}, this run has seed ${seed}`,
    });
  }
  const expected = rlRandomManifest(seed, step);
  if (
    saved.algorithm !== expected.algorithm ||
    saved.nextStep !== step ||
    saved.nextStepSeed !== expected.nextStepSeed ||
    JSON.stringify(saved.nextPromptsState) !== JSON.stringify(expected.nextPromptsState)
  ) {
    throw new ResumeMismatchError({
      source,
      field: 'random',
      message: `the saved RNG state for step ${saved.nextStep} (step seed ${saved.nextStepSeed}) is not what seed ${seed} derives for step ${step} (step seed ${expected.nextStepSeed})`,
    });
  }
}
