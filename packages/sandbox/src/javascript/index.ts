export * from './javascript-tool.js';
export * from './quickjs-pool.js';
