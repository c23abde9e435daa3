export * from './progress-bar.js';
export * from './results-file.js';
export * from './results-mismatch-error.js';
export * from './run-evaluation.js';
export * from './run-header.js';
export * from './sample-record.js';
export * from './summarize-results.js';
