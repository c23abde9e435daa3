export * from './code-input.js';
export * from './code-result.js';
export * from './output-cap.js';
