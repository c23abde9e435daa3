export * from './tool.js';
export * from './tool-call-protocol.js';
