// @arpo/advantage: advantage estimators registered under verl-compatible names, DAPO helpers, algorithm
// presets and the reference objective math (PPO/GSPO losses, aggregation, KL estimators, entropy).

import { registerBuiltInEstimators } from './registry/built-in-estimators.js';

export * from './dapo/dynamic-sampling.js';
export * from './dapo/overlong-penalty.js';
export * from './estimators/arpo-hard-estimator.js';
export * from './estimators/broadcast.js';
export * from './estimators/estimator-options.js';
export * from './estimators/grpo-estimator.js';
export * from './estimators/reinforce-plus-plus-estimator.js';
export * from './estimators/rloo-estimator.js';
export * from './objective/aggregate-loss.js';
export * from './objective/entropy.js';
export * from './objective/gspo.js';
export * from './objective/kl-penalty.js';
export * from './objective/policy-loss.js';
export * from './objective/reference-objective.js';
export * from './presets/algorithm-presets.js';
export * from './registry/built-in-estimators.js';
export * from './statistics/group-statistics.js';
export * from './statistics/masked-whiten.js';

// Importing the package registers the built-in estimators (idempotent; see package.json `sideEffects`).
registerBuiltInEstimators();
