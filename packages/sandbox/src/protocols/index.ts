export * from './arpo-tag-protocol.js';
export * from './call-budget.js';
export * from './format-tool-error.js';
export * from './hermes-json-protocol.js';
export * from './register-tool-call-protocols.js';
export * from './tidy-tag-body.js';
export * from './tool-input-from-text.js';
