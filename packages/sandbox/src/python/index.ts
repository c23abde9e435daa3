export * from './host-python-tool.js';
export * from './pyodide-pool.js';
export type { CodeToolOptions } from './python-options.js';
export * from './python-sandbox-source.js';
export * from './python-tool.js';
