export * from './datasets/index.js';
export * from './metrics/index.js';
export * from './report/index.js';
export * from './runner/index.js';
export * from './scorers/index.js';
