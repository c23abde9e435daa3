// Remote training over the Tinker API (as SkyRL's server speaks it): the HTTP client with futures and retries,
// the TrainerBackend, the Policy over the remote sampler, the client-side objective, and the wire schemas the
// ARPO.ts training API server (@arpo/server) validates with.
export * from './remote-objective.js';
export * from './remote-training-error.js';
export * from './tinker-http-client.js';
export * from './tinker-sampling-policy.js';
export * from './tinker-trainer-backend.js';
export * from './tinker-wire.js';
export * from './unsupported-remote-feature-error.js';
