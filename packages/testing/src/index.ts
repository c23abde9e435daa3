export * from './byte-tokenizer.js';
export * from './policy-conformance.js';
export * from './scripted-policy.js';
export * from './scripted-tool.js';
export * from './tool-conformance.js';
