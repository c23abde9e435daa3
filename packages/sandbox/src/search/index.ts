export * from './bm25-search-backend.js';
export * from './format-search-results.js';
export * from './http-search-backend.js';
export * from './search-backend.js';
export * from './search-backend-error.js';
export * from './search-tool.js';
export * from './snippet-cache-backend.js';
