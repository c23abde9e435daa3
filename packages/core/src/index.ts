// @arpo/core: the contracts of ARPO.ts. Types and lazy schemas only, plus errors, registries, a seeded RNG
// and the event-sink shape. Implementations live in the other packages.

export * from './advantage/advantage-estimator.js';
export * from './errors/aborted-error.js';
export * from './errors/arpo-error.js';
export * from './errors/context-length-error.js';
export * from './errors/invalid-argument-error.js';
export * from './errors/timeout-error.js';
export * from './errors/unknown-entry-error.js';
export * from './errors/validation-error.js';
export * from './events/events.js';
export * from './policy/policy.js';
export * from './policy/tokenizer.js';
export * from './random/random.js';
export * from './registry/known-registries.js';
export * from './registry/registry.js';
export * from './schema/array-schemas.js';
export * from './schema/lazy-schema.js';
export * from './task/task.js';
export * from './tool/index.js';
export * from './trainer/trainer-backend.js';
export * from './trajectory/rollout-group-schema.js';
export * from './trajectory/rollout-tree.js';
export * from './trajectory/trajectory.js';
export * from './trajectory/tree-matches-trajectories.js';
