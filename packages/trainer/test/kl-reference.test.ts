import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ForwardResult, LossConfig, TrainerBackend, TrainingDatum } from '@arpo/core';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalTrainerBackend } from '../src/engine/local-trainer-backend.js';
import { ResumeMismatchError } from '../src/loops/resume-mismatch-error.js';
import type { RlAlgorithmSettings, RlStepResult } from '../src/loops/rl-step.js';
import { runRlStep } from '../src/loops/rl-step.js';
import { runRlTraining } from '../src/loops/rl-training.js';
import { MissingReferenceError } from '../src/reference/missing-reference-error.js';
import { createToySetup, lowerCaseReward, noTools, toyTasks } from './support/toy-setup.js';

const klLoss: LossConfig = {
  lossFunction: 'ppo',
  clipLow: 0.2,
  clipHigh: 0.28,
  klCoefficient: 0.1,
  klEstimator: 'k3',
};

const algorithm: RlAlgorithmSettings = {
  name: 'grpo',
  sampler: { kind: 'independent', trajectoriesPerPrompt: 4 },
  estimator: 'grpo',
  loss: klLoss,
  optimizer: { learningRate: 3e-2, maxGradientNorm: 1 },
  rollout: { maxResponseTokens: 10 },
  ppoEpochs: 1,
  miniBatches: 1,
};

/** The local engine, recording every batch it trains on (with the reference logprobs the loop filled in). */
class RecordingBackend extends LocalTrainerBackend {
  readonly batches: TrainingDatum[][] = [];

  override forwardBackward(batch: readonly TrainingDatum[], loss: LossConfig): Promise<ForwardResult> {
    this.batches.push(batch.map((datum) => ({ ...datum })));
    return super.forwardBackward(batch, loss);
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function recordingSetup(directory: string) {
  const toy = await createToySetup(directory);
  const backend = new RecordingBackend({
    model: toy.model,
    parameters: toy.parameters,
    policy: toy.policy,
    directory,
  });
  cleanups.push(async () => {
    await backend.close();
    await toy.policy.close();
  });
  return { ...toy, backend };
}

function withoutTimings(metrics: Record<string, number>) {
  return Object.fromEntries(Object.entries(metrics).filter(([name]) => !name.startsWith('time_')));
}

async function train(directory: string, steps: number, seed = 7) {
  const setup = await recordingSetup(directory);
  const results: RlStepResult[] = [];
  await runRlTraining({
    backend: setup.backend,
    environment: { policy: setup.policy, tools: [], protocol: noTools, reward: lowerCaseReward },
    tasks: toyTasks(8),
    algorithm,
    steps,
    promptsPerStep: 2,
    seed,
    directory,
    onStep: (_step, result) => results.push(result),
  });
  return { setup, results };
}

describe('KL to a frozen reference in the RL loop', () => {
  it('reports KL 0 while the policy is the reference and > 0 after updates', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'arpo-kl-'));
    const { results } = await train(directory, 4);
    const first = results[0]!.metrics;
    // Old and reference logprobs come from the same forward pass over the same weights.
    expect(first.reference_kl).toBe(0);
    expect(Math.abs(first.kl_loss!)).toBeLessThan(1e-6);
    const last = results.at(-1)!.metrics;
    expect(last.reference_kl).toBeGreaterThan(1e-5);
    expect(last.kl_loss).toBeGreaterThan(1e-5);
    const state = JSON.parse(readFileSync(join(directory, 'training-state.json'), 'utf8'));
    expect(state.reference).toBe(join(directory, 'reference.safetensors'));
    expect(state.random).toMatchObject({ seed: 7, nextStep: 4, algorithm: 'xoshiro128**' });
  }, 60_000);

  it('fills reference logprobs equal to a fresh forward pass of the starting weights', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'arpo-kl-fresh-'));
    const { setup } = await train(directory, 3);
    // A fresh engine with the starting (seed 1) weights, never trained.
    const fresh = await createToySetup(mkdtempSync(join(tmpdir(), 'arpo-kl-sft-')));
    cleanups.push(async () => {
      await fresh.backend.close();
      await fresh.policy.close();
    });
    const lastBatch = setup.backend.batches.at(-1)!;
    const scored = await fresh.backend.forward(lastBatch);
    let differsFromOld = false;
    lastBatch.forEach((datum, row) => {
      expect(Array.from(datum.referenceLogprobs!)).toEqual(Array.from(scored.logprobs[row]!));
      datum.logprobs!.forEach((logprob, position) => {
        if (datum.weights![position] !== 0 && Math.abs(logprob - datum.referenceLogprobs![position]!) > 1e-4)
          differsFromOld = true;
      });
    });
    // By step 3 the policy has moved away from the reference: old logprobs are not the reference's.
    expect(differsFromOld).toBe(true);
  }, 60_000);

  it('keeps the starting reference across a resume, reproducing the uninterrupted run', async () => {
    const straight = await train(mkdtempSync(join(tmpdir(), 'arpo-kl-straight-')), 3);
    const directory = mkdtempSync(join(tmpdir(), 'arpo-kl-resumed-'));
    await train(directory, 2);
    const resumed = await train(directory, 3);
    expect(resumed.results).toHaveLength(1);
    expect(withoutTimings(resumed.results[0]!.metrics)).toEqual(withoutTimings(straight.results[2]!.metrics));
  }, 90_000);

  it('refuses to resume with another seed or a tampered RNG manifest', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'arpo-kl-seed-'));
    await train(directory, 1);
    const otherSeed = await train(directory, 2, 8).catch((error: unknown) => error);
    expect(ResumeMismatchError.isInstance(otherSeed)).toBe(true);
    expect((otherSeed as ResumeMismatchError).field).toBe('seed');
    expect((otherSeed as Error).message).toContain('seed 7');
    const statePath = join(directory, 'training-state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    state.random.nextStepSeed += 1;
    writeFileSync(statePath, JSON.stringify(state));
    const tampered = await train(directory, 2).catch((error: unknown) => error);
    expect(ResumeMismatchError.isInstance(tampered)).toBe(true);
    expect((tampered as ResumeMismatchError).field).toBe('random');
    expect((tampered as Error).message).toContain(statePath);
  }, 60_000);

  it('needs a reference for a KL term when called step by step', async () => {
    const setup = await recordingSetup(mkdtempSync(join(tmpdir(), 'arpo-kl-missing-')));
    const error = await runRlStep({
      step: 0,
      seed: 1,
      backend: setup.backend,
      environment: { policy: setup.policy, tools: [], protocol: noTools, reward: lowerCaseReward },
      tasks: toyTasks(2),
      algorithm,
    }).catch((caught: unknown) => caught);
    expect(MissingReferenceError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('klCoefficient is 0.1');
    // A backend that cannot freeze its weights (the bare contract, as a remote one) needs `reference` too.
    const { backend } = setup;
    const contractOnly: TrainerBackend = {
      id: 'contract-only',
      forwardBackward: (batch, loss) => backend.forwardBackward(batch, loss),
      forward: (batch) => backend.forward(batch),
      optimStep: (config) => backend.optimStep(config),
      sample: (requests) => backend.sample(requests),
      saveState: (name) => backend.saveState(name),
      loadState: (path) => backend.loadState(path),
    };
    const training = await runRlTraining({
      backend: contractOnly,
      environment: { policy: setup.policy, tools: [], protocol: noTools, reward: lowerCaseReward },
      tasks: toyTasks(2),
      algorithm,
      steps: 1,
      promptsPerStep: 1,
      seed: 1,
      directory: mkdtempSync(join(tmpdir(), 'arpo-kl-contract-')),
    }).catch((caught: unknown) => caught);
    expect(MissingReferenceError.isInstance(training)).toBe(true);
    expect((training as Error).message).toContain("backend 'contract-only' cannot freeze a reference");
  });
});
