import { InvalidArgumentError, type RolloutGroup } from '@arpo/core';
import { RolloutEngine, type SamplerStrategy } from '../agent/rollout-engine.js';
import type { AgentLoopSettings, RolloutEnvironment, RolloutPrompt } from '../agent/rollout-options.js';
import { meanTurnEntropy } from './turn-entropy.js';

const independentStrategy: SamplerStrategy = {
  branches: false,
  turnEntropy: (sequence) => meanTurnEntropy(sequence, { k: 20 }),
};

/**
 * The GRPO/DAPO sampler: `n` independent trajectories per prompt, all prompts batched into the same
 * generation rounds. Each group's tree is a root with one leaf per trajectory.
 */
export async function sampleIndependent(options: {
  environment: RolloutEnvironment;
  prompts: readonly RolloutPrompt[];
  n: number;
  settings: AgentLoopSettings;
}): Promise<RolloutGroup[]> {
  if (!Number.isInteger(options.n) || options.n < 1) {
    throw new InvalidArgumentError({
      argument: 'n',
      message: `must be a positive integer, got ${options.n}`,
    });
  }
  const engine = new RolloutEngine(options.environment, options.settings, independentStrategy);
  for (const prompt of options.prompts) engine.addGroup(prompt, { initial: options.n, budget: options.n });
  return engine.run();
}
