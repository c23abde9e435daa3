export * from './distributed-rollout-error.js';
export * from './rollout-worker-messages.js';
export * from './run-distributed-rollouts.js';
export * from './serialize-rollout-group.js';
