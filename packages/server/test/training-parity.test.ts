import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Policy, TrainerBackend } from '@arpo/core';
import {
  type ReferenceModel,
  type RlAlgorithmSettings,
  runRlStep,
  type TinkerServerProfile,
  TinkerTrainerBackend,
} from '@arpo/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTrainingApiServer, type TrainingApiServer } from '../src/training/start-training-api-server.js';
import {
  createLocalToySetup,
  lowerCaseReward,
  noTools,
  toyAlgorithm,
  toyBaseModel,
  toyModelFactory,
  toyTasks,
} from './support-training/toy-training-setup.js';

// Acceptance: RL training through the remote trainer backend against the training API server on loopback gives
// the same metrics (within float tolerance) as the local backend, step by step.

const steps = 3;
const tasks = toyTasks(3);

/**
 * The KL term's frozen reference: the starting weights, scored by the local engine. Both runs use one built the
 * same way (a remote backend cannot freeze one), so the KL metrics are comparable.
 */
async function startingReference(algorithm: RlAlgorithmSettings): Promise<ReferenceModel | undefined> {
  if ((algorithm.loss.klCoefficient ?? 0) === 0) return undefined;
  const { backend } = await createLocalToySetup(mkdtempSync(join(tmpdir(), 'arpo-parity-reference-')));
  return backend.freezeReference();
}

async function runSteps(backend: TrainerBackend, policy: Policy, algorithm: RlAlgorithmSettings) {
  const metrics: Record<string, number>[] = [];
  const reference = await startingReference(algorithm);
  for (let step = 0; step < steps; step++) {
    const result = await runRlStep({
      step,
      seed: 1000 + step,
      backend,
      environment: { policy, tools: [], protocol: noTools, reward: lowerCaseReward },
      tasks,
      algorithm,
      ...(reference === undefined ? {} : { reference }),
    });
    metrics.push(result.metrics);
  }
  return metrics;
}

async function runLocal(algorithm: RlAlgorithmSettings) {
  const { backend, policy } = await createLocalToySetup(mkdtempSync(join(tmpdir(), 'arpo-parity-local-')));
  try {
    return await runSteps(backend, policy, algorithm);
  } finally {
    await backend.close();
    await policy.close();
  }
}

async function runRemote(
  server: TrainingApiServer,
  algorithm: RlAlgorithmSettings,
  profile: TinkerServerProfile,
) {
  const backend = await TinkerTrainerBackend.connect({
    baseUrl: server.url,
    baseModel: toyBaseModel,
    tokenizer: (await toyModelFactory({ seed: undefined, rank: 8 })).tokenizer,
    contextLength: 32,
    profile,
    heartbeatIntervalMs: 0,
  });
  try {
    return await runSteps(backend, backend.policy, algorithm);
  } finally {
    await backend.close();
  }
}

function expectSameMetrics(local: Record<string, number>[], remote: Record<string, number>[]) {
  expect(remote).toHaveLength(local.length);
  local.forEach((expected, step) => {
    const actual = remote[step] as Record<string, number>;
    for (const [name, value] of Object.entries(expected)) {
      if (name.startsWith('time_')) continue;
      expect(actual, `step ${step}: metric ${name} missing`).toHaveProperty(name);
      const tolerance = 1e-4 * Math.max(1, Math.abs(value));
      expect(
        Math.abs((actual[name] as number) - value),
        `step ${step}: ${name} ${actual[name]} vs ${value}`,
      ).toBeLessThanOrEqual(tolerance);
    }
  });
}

describe('remote training parity (loopback)', () => {
  let sumServer: TrainingApiServer;
  let sequenceMeanServer: TrainingApiServer;

  beforeAll(async () => {
    sumServer = await startTrainingApiServer({
      createModel: { [toyBaseModel]: toyModelFactory },
      directory: mkdtempSync(join(tmpdir(), 'arpo-parity-sum-')),
    });
    sequenceMeanServer = await startTrainingApiServer({
      createModel: { [toyBaseModel]: toyModelFactory },
      directory: mkdtempSync(join(tmpdir(), 'arpo-parity-mean-')),
      reduction: 'sequence_mean',
    });
  });

  afterAll(async () => {
    await sumServer?.close();
    await sequenceMeanServer?.close();
  });

  it('PPO sent as the built-in loss matches the local backend for 3 steps', async () => {
    const algorithm = toyAlgorithm();
    const local = await runLocal(algorithm);
    const remote = await runRemote(sumServer, algorithm, 'arpo');
    expectSameMetrics(local, remote);
    // The run really trained: several optimizer steps with non-zero gradients, rewards from real rollouts.
    expect(local.at(-1)?.optimizer_steps).toBeGreaterThan(0);
    expect(remote.every((metrics) => (metrics.gradient_norm ?? 0) > 0)).toBe(true);
    expect(remote.every((metrics) => metrics.trajectories === 12)).toBe(true);
  }, 120_000);

  it('dual-clip PPO with a KL term (client-side objective) matches the local backend', async () => {
    const algorithm = toyAlgorithm({
      loss: {
        lossFunction: 'ppo',
        clipLow: 0.2,
        clipHigh: 0.2,
        dualClip: 3,
        klCoefficient: 0.01,
        klEstimator: 'k3',
      },
      miniBatches: 1,
    });
    const local = await runLocal(algorithm);
    const remote = await runRemote(sumServer, algorithm, 'arpo');
    expectSameMetrics(local, remote);
    expect(remote.every((metrics) => Number.isFinite(metrics.kl_loss))).toBe(true);
  }, 120_000);

  it('a per-sequence-mean server (SkyRL JAX semantics) gives the same metrics through rescaled advantages', async () => {
    const algorithm = toyAlgorithm({
      loss: { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.28, aggregation: 'token-mean' },
      optimizer: { learningRate: 1e-2 },
      microBatchSize: 4,
    });
    const local = await runLocal(algorithm);
    const remote = await runRemote(sequenceMeanServer, algorithm, 'skyrl-jax');
    expectSameMetrics(local, remote);
  }, 120_000);
});
