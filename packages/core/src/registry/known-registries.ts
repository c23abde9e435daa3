import type { AdvantageEstimator } from '../advantage/advantage-estimator.js';
import type { RewardFunction } from '../task/task.js';
import type { ToolCallProtocol } from '../tool/tool-call-protocol.js';
import { getRegistry, type Registry } from './registry.js';

// The registries shared across packages. Each is a process-wide singleton (see `getRegistry`).

/** Advantage estimators by verl-compatible name: `grpo`, `rloo`, `reinforce_plus_plus`, ... */
export function advantageEstimatorRegistry(): Registry<AdvantageEstimator> {
  return getRegistry<AdvantageEstimator>('advantage estimator');
}

/** Tool-call protocols by name: `arpo-tags`, `hermes-json`, ... */
export function toolCallProtocolRegistry(): Registry<ToolCallProtocol> {
  return getRegistry<ToolCallProtocol>('tool-call protocol');
}

/** Reward functions by name: `arpo`, `exact-match`, ... */
export function rewardFunctionRegistry(): Registry<RewardFunction> {
  return getRegistry<RewardFunction>('reward function');
}
