export * from './concurrency-limiter.js';
export * from './endpoint-pool.js';
export * from './remote-policy.js';
export * from './remote-policy-error.js';
export * from './remote-token-mismatch-error.js';
export * from './top-k-entropy.js';
