export * from './canonical-json.js';
export * from './lru-map.js';
export * from './result-cache.js';
