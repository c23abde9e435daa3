export * from './javascript-tool.js';
