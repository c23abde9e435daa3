export * from './benchmark-item.js';
export * from './dataset-adapters.js';
export * from './dataset-record-error.js';
export * from './load-benchmark.js';
export * from './read-records.js';
export * from './task-items.js';
