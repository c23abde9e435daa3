// The Tinker-style training API server (`arpo serve --trainer`) over the local @arpo/tensor engine.
export * from './future-store.js';
export * from './hosted-model.js';
export * from './start-training-api-server.js';
export * from './training-api-error.js';
export * from './training-api-handler.js';
export * from './training-engine.js';
