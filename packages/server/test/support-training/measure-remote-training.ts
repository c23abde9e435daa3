// Wall time of RL steps through the remote trainer backend (HTTP on loopback to the training API server) against
// the same steps on the local backend, measured in one run:
//   node --conditions=@arpo/source --import tsx packages/server/test/support-training/measure-remote-training.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Policy, TrainerBackend } from '@arpo/core';
import { runRlStep, TinkerTrainerBackend } from '@arpo/trainer';
import { startTrainingApiServer } from '../../src/training/start-training-api-server.js';
import {
  createLocalToySetup,
  lowerCaseReward,
  noTools,
  toyAlgorithm,
  toyBaseModel,
  toyModelFactory,
  toyModelParts,
  toyTasks,
} from './toy-training-setup.js';

const steps = 4;
const tasks = toyTasks(4);

async function timeSteps(backend: TrainerBackend, policy: Policy) {
  // One warm-up step compiles the graphs on either side.
  const run = (step: number) =>
    runRlStep({
      step,
      seed: step,
      backend,
      environment: { policy, tools: [], protocol: noTools, reward: lowerCaseReward },
      tasks,
      algorithm: toyAlgorithm(),
    });
  await run(0);
  const started = performance.now();
  for (let step = 1; step <= steps; step++) await run(step);
  return (performance.now() - started) / steps;
}

const local = await createLocalToySetup(mkdtempSync(join(tmpdir(), 'arpo-measure-local-')));
const localMs = await timeSteps(local.backend, local.policy);
await local.backend.close();
await local.policy.close();

const server = await startTrainingApiServer({
  createModel: { [toyBaseModel]: toyModelFactory },
  directory: mkdtempSync(join(tmpdir(), 'arpo-measure-server-')),
});
const remote = await TinkerTrainerBackend.connect({
  baseUrl: server.url,
  baseModel: toyBaseModel,
  tokenizer: toyModelParts().tokenizer,
  contextLength: 32,
  profile: 'arpo',
  heartbeatIntervalMs: 0,
});
const remoteMs = await timeSteps(remote, remote.policy);
await remote.close();
await server.close();

process.stdout.write(
  `RL step (16 trajectories, 2 epochs × 2 mini-batches): local ${localMs.toFixed(0)} ms, remote over loopback ${remoteMs.toFixed(0)} ms, ratio ${(remoteMs / localMs).toFixed(2)}\n`,
);
