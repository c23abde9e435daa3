export * from './completion-chunker.js';
export * from './completion-request.js';
export * from './completion-response.js';
export * from './generation-batcher.js';
export * from './load-served-policy.js';
export * from './openai-http-error.js';
export * from './openai-server.js';
export * from './read-onnx-initializers.js';
export type { ResponseContext, TokenStatistics } from './response-fields.js';
