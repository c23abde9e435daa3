import { rewardFunctionRegistry } from '@arpo/core';
import { createArpoReward, createExactMatchReward } from './rewards/arpo-reward.js';

/** Registers `arpo` and `exact-match` in the shared reward registry (idempotent). */
export function registerBuiltInRewards(): void {
  const registry = rewardFunctionRegistry();
  if (!registry.has('arpo')) registry.register('arpo', createArpoReward());
  if (!registry.has('exact-match')) registry.register('exact-match', createExactMatchReward());
}
