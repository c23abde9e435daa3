import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAdvantageEstimator } from '@arpo/advantage';
import {
  type AdvantageEstimator,
  type ArpoEvent,
  advantageEstimatorRegistry,
  type ForwardResult,
  fanOutEventSink,
  type LossConfig,
  type RewardFunction,
  type TrainerBackend,
  type TrainingDatum,
} from '@arpo/core';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalTrainerBackend } from '../src/engine/local-trainer-backend.js';
import type { RlAlgorithmSettings, RlStepResult } from '../src/loops/rl-step.js';
import { runRlTraining } from '../src/loops/rl-training.js';
import { createJsonlMetricsSink } from '../src/metrics/jsonl-metrics-sink.js';
import { createToySetup, lowerCaseReward, noTools, toyTasks } from './support/toy-setup.js';

const poisonedStep = 1;
let currentStep = 0;

/** GRPO, except that at `poisonedStep` one trained token's advantage is replaced by `value`. */
function blowUpEstimator(name: string, value: number): AdvantageEstimator {
  const grpo = getAdvantageEstimator('grpo');
  return {
    name,
    description: 'test: GRPO with one poisoned advantage',
    estimate(groups, options) {
      const outputs = grpo.estimate(groups, options);
      if (currentStep === poisonedStep) {
        const mask = groups[0]!.lossMasks[0]!;
        outputs[0]!.advantages[0]![mask.indexOf(1)] = value;
      }
      return outputs;
    },
  };
}
advantageEstimatorRegistry().register(
  'test-nan-advantage',
  blowUpEstimator('test-nan-advantage', Number.NaN),
);
advantageEstimatorRegistry().register(
  'test-infinite-advantage',
  blowUpEstimator('test-infinite-advantage', Number.POSITIVE_INFINITY),
);

/** The local engine, optionally reporting an infinite loss at `poisonedStep` while its gradients stay finite. */
class InfiniteLossBackend extends LocalTrainerBackend {
  infiniteLoss = false;

  override async forwardBackward(batch: readonly TrainingDatum[], loss: LossConfig): Promise<ForwardResult> {
    const result = await super.forwardBackward(batch, loss);
    if (this.infiniteLoss && currentStep === poisonedStep) {
      return { ...result, metrics: { ...result.metrics, loss: Number.POSITIVE_INFINITY } };
    }
    return result;
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function snapshot(backend: LocalTrainerBackend): Float32Array[] {
  return [...backend.parameters.values()].map((value) => Float32Array.from(value.data as Float32Array));
}

async function trainWithPoison(options: {
  estimator?: string;
  reward?: RewardFunction;
  infiniteLoss?: boolean;
  /** Hides the engine behind the bare TrainerBackend contract (no gradient control), as a remote one is. */
  contractOnly?: boolean;
}) {
  const directory = mkdtempSync(join(tmpdir(), 'arpo-non-finite-'));
  const toy = await createToySetup(directory);
  const backend = new InfiniteLossBackend({
    model: toy.model,
    parameters: toy.parameters,
    policy: toy.policy,
    directory,
  });
  backend.infiniteLoss = options.infiniteLoss === true;
  cleanups.push(async () => {
    await backend.close();
    await toy.policy.close();
  });
  const algorithm: RlAlgorithmSettings = {
    name: 'grpo',
    sampler: { kind: 'independent', trajectoriesPerPrompt: 4 },
    estimator: options.estimator ?? 'grpo',
    loss: { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.28 },
    optimizer: { learningRate: 1e-2, maxGradientNorm: 1 },
    rollout: { maxResponseTokens: 10 },
  };
  const events: ArpoEvent[] = [];
  const metricsPath = join(directory, 'metrics.jsonl');
  const weights: Float32Array[][] = [snapshot(backend)];
  const results: RlStepResult[] = [];
  currentStep = 0;
  const contract: TrainerBackend = {
    id: 'contract-only',
    forwardBackward: (batch, loss) => backend.forwardBackward(batch, loss),
    forward: (batch) => backend.forward(batch),
    optimStep: (config) => backend.optimStep(config),
    sample: (requests, sampleOptions) => backend.sample(requests, sampleOptions),
    saveState: (name) => backend.saveState(name),
    loadState: (path) => backend.loadState(path),
  };
  await runRlTraining({
    backend: options.contractOnly === true ? contract : backend,
    environment: {
      policy: toy.policy,
      tools: [],
      protocol: noTools,
      reward: options.reward ?? lowerCaseReward,
    },
    tasks: toyTasks(6),
    algorithm,
    steps: 3,
    promptsPerStep: 2,
    seed: 11,
    directory: join(directory, 'checkpoints'),
    events: fanOutEventSink([createJsonlMetricsSink(metricsPath), { emit: (event) => events.push(event) }]),
    onStep: (_step, result) => {
      results.push(result);
      weights.push(snapshot(backend));
      currentStep += 1;
    },
  });
  const lines = readFileSync(metricsPath, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { events, lines, weights, results };
}

function expectSkippedThenTrained(run: Awaited<ReturnType<typeof trainWithPoison>>, reason: RegExp) {
  const { events, lines, weights, results } = run;
  const skips = events.filter((event) => event.type === 'step-skip');
  expect(skips.map((event) => event.step)).toEqual([poisonedStep]);
  expect(skips[0]?.type === 'step-skip' ? skips[0].reason : '').toMatch(reason);
  expect(lines.filter((line) => line.kind === 'skip')).toEqual([
    { kind: 'skip', step: poisonedStep, reason: expect.stringMatching(reason) },
  ]);
  expect(results.map((result) => result.skipped)).toEqual([false, true, false]);
  // The poisoned step left every weight as it was; the steps around it moved them.
  const changed = (before: Float32Array[], after: Float32Array[]) =>
    before.some((values, index) => values.some((value, position) => value !== after[index]![position]));
  expect(changed(weights[0]!, weights[1]!)).toBe(true);
  expect(changed(weights[1]!, weights[2]!)).toBe(false);
  expect(changed(weights[2]!, weights[3]!)).toBe(true);
  for (const values of weights[3]!) expect(values.every(Number.isFinite)).toBe(true);
  expect(Number.isFinite(results[2]!.metrics.loss)).toBe(true);
}

describe('non-finite values in the RL loop', () => {
  it('skips a step whose advantages hold NaN, reports it, and trains the next one', async () => {
    expectSkippedThenTrained(
      await trainWithPoison({ estimator: 'test-nan-advantage' }),
      /non-finite loss NaN/,
    );
  }, 60_000);

  it('skips a step whose advantages blow up to Infinity', async () => {
    expectSkippedThenTrained(
      await trainWithPoison({ estimator: 'test-infinite-advantage' }),
      /non-finite (loss|gradient)/,
    );
  }, 60_000);

  it('skips an infinite loss even when the gradients are finite (checked before optimStep)', async () => {
    expectSkippedThenTrained(await trainWithPoison({ infiniteLoss: true }), /non-finite loss Infinity/);
  }, 60_000);

  it('keeps the weights of a backend without gradient control (a remote one) on an infinite loss', async () => {
    expectSkippedThenTrained(
      await trainWithPoison({ infiniteLoss: true, contractOnly: true }),
      /non-finite loss Infinity/,
    );
  }, 60_000);

  it('skips a step whose reward function returns NaN', async () => {
    const reward: RewardFunction = {
      name: 'nan-at-step-1',
      compute: (input) =>
        currentStep === poisonedStep ? { total: Number.NaN, components: {} } : lowerCaseReward.compute(input),
    };
    expectSkippedThenTrained(
      await trainWithPoison({ reward }),
      /non-finite reward NaN \(trajectory 0 of prompt/,
    );
  }, 60_000);
});
