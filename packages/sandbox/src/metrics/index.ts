export * from './tool-metrics.js';
