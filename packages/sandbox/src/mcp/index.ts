export * from './mcp-connection-error.js';
export * from './mcp-content-text.js';
export * from './mcp-tools.js';
