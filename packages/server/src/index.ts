export * from './openai/index.js';
export * from './training/index.js';
