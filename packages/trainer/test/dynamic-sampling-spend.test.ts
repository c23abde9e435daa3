import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RewardFunction } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { runRlStep } from '../src/loops/rl-step.js';
import { promptsDrawnPerStep } from '../src/loops/rl-training.js';
import { createToySetup, noTools, toyTasks } from './support/toy-setup.js';

/** Every answer wrong: no group has accuracy spread, so dynamic sampling drops them all. */
const alwaysWrong: RewardFunction = {
  name: 'always-wrong',
  compute: () => ({ total: 0, components: { correct: 0 } }),
};

// A fair comparison charges DAPO for what it generated, not only for the groups it kept.
describe('dynamic sampling spend', () => {
  it('reports the tokens and trajectories of dropped groups and runs every round', async () => {
    const { policy, backend } = await createToySetup(mkdtempSync(join(tmpdir(), 'arpo-dapo-')));
    const tasks = toyTasks(6);
    const result = await runRlStep({
      step: 0,
      seed: 3,
      backend,
      environment: { policy, tools: [], protocol: noTools, reward: alwaysWrong },
      tasks,
      batchSize: 1,
      algorithm: {
        name: 'dapo',
        sampler: { kind: 'independent', trajectoriesPerPrompt: 4 },
        estimator: 'grpo',
        loss: { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.28 },
        optimizer: { learningRate: 1e-3 },
        rollout: { maxResponseTokens: 6 },
        dynamicSampling: { maxRounds: 3, promptsPerRound: 2 },
      },
    });
    expect(result.skipped).toBe(true);
    expect(result.metrics.sampling_rounds).toBe(3);
    expect(result.metrics.trajectories).toBe(0);
    // Three rounds of two prompts, four trajectories each, all generated and then dropped.
    expect(result.metrics.trajectories_sampled).toBe(24);
    expect(result.metrics.tokens_computed).toBeGreaterThanOrEqual(24);
    await backend.close();
    await policy.close();
  }, 60_000);

  it('draws enough prompts for every round of a step', () => {
    expect(promptsDrawnPerStep(8, undefined)).toBe(8);
    expect(promptsDrawnPerStep(8, { maxRounds: 3 })).toBe(72);
    expect(promptsDrawnPerStep(8, { maxRounds: 2, promptsPerRound: 10 })).toBe(20);
  });
});
