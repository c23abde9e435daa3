export * from './bootstrap.js';
export * from './majority-at-n.js';
export * from './mean-at-n.js';
export * from './pass-at-k.js';
export * from './tool-usage.js';
