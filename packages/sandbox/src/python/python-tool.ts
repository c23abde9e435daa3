import {
  type JsonSchema,
  lazySchema,
  parse,
  type Tool,
  type ToolExecuteOptions,
  type ToolResult,
} from '@arpo/core';
import { z } from 'zod';
import { codeInputSchema, readCodeInput } from '../limits/code-input.js';
import { codeRunResult } from '../limits/code-result.js';
import { PyodidePool, type PyodidePoolOptions } from './pyodide-pool.js';
import { type CodeToolOptions, codeToolOptionsShape, pyodidePoolOptionsSchema } from './python-options.js';

/** Options of `createPythonTool`: the tool's own settings plus the pool's limits. */
export interface PythonToolOptions extends CodeToolOptions {
  /** Limits and size of the worker pool. */
  pool?: PyodidePoolOptions;
}

/** A Python tool backed by a Pyodide worker pool. */
export interface PythonTool extends Tool<unknown> {
  /** The pool, for its stats and `ready()`. */
  readonly pool: PyodidePool;
  close(): Promise<void>;
}

const pythonToolOptionsSchema = lazySchema<PythonToolOptions>(
  'Python tool options',
  () =>
    z.strictObject({
      ...codeToolOptionsShape(),
      pool: pyodidePoolOptionsSchema.schema.optional(),
    }) as unknown as z.ZodType<PythonToolOptions>,
);

const defaultDescription =
  'Runs Python 3 code in a sandbox (Pyodide: the standard library, no network, no host files) and returns ' +
  'what it prints. If the last line is an expression, its value is printed, as in a notebook. Each call ' +
  'starts fresh: variables do not persist between calls.';

/**
 * Creates a Python tool that runs code in Pyodide worker threads. The pool starts warming immediately; await
 * `tool.pool.ready()` to wait for it. Every call gets a fresh `__main__`; the last bare expression's value is
 * printed like a notebook cell. Input: `{ code }` or the code as a bare string.
 */
export function createPythonTool(options: PythonToolOptions = {}): PythonTool {
  const valid = parse(pythonToolOptionsSchema, options);
  const name = valid.name ?? 'python';
  const defaultTimeoutMs = valid.timeoutMs ?? 10_000;
  const maxCodeLength = valid.maxCodeLength ?? 100_000;
  const pool = new PyodidePool(valid.pool);
  return {
    name,
    description: valid.description ?? defaultDescription,
    inputSchema: codeInputSchema as unknown as JsonSchema,
    pool,
    async execute(input: unknown, executeOptions: ToolExecuteOptions = {}): Promise<ToolResult> {
      const code = readCodeInput(input, { toolName: name, maxCodeLength });
      if (!code.ok) return code.result;
      const outcome = await pool.run(code.code, {
        timeoutMs: executeOptions.timeoutMs ?? defaultTimeoutMs,
        signal: executeOptions.signal,
      });
      return codeRunResult(outcome);
    },
    close: () => pool.close(),
  };
}
