export * from './cache/index.js';
export * from './javascript/index.js';
export * from './limits/index.js';
export * from './mcp/index.js';
export * from './metrics/index.js';
export * from './protocols/index.js';
export * from './python/index.js';
export * from './search/index.js';
