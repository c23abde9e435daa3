import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRlStep } from '../src/loops/rl-step.js';
import { createToySetup, lowerCaseReward, noTools, toyTasks } from './support/toy-setup.js';

// The whole RL loop must move the policy towards reward.
describe('RL loop', () => {
  it('raises the reward of a toy task within a few steps', async () => {
    const { policy, backend } = await createToySetup(mkdtempSync(join(tmpdir(), 'arpo-rl-')));
    const tasks = toyTasks(4);
    const rewards: number[] = [];
    for (let step = 0; step < 12; step++) {
      const result = await runRlStep({
        step,
        seed: step,
        backend,
        environment: { policy, tools: [], protocol: noTools, reward: lowerCaseReward },
        tasks,
        algorithm: {
          name: 'grpo',
          sampler: { kind: 'independent', trajectoriesPerPrompt: 8 },
          estimator: 'grpo',
          loss: { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.2 },
          optimizer: { learningRate: 1e-2 },
          rollout: { maxResponseTokens: 12 },
        },
      });
      rewards.push(result.metrics.reward!);
    }
    const first = (rewards[0]! + rewards[1]! + rewards[2]!) / 3;
    const last = (rewards[9]! + rewards[10]! + rewards[11]!) / 3;
    expect(last).toBeGreaterThan(first * 2);
    await backend.close();
    await policy.close();
  }, 60_000);
});
