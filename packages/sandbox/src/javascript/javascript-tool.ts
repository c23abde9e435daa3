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
import { type CodeToolOptions, codeToolOptionsShape } from '../python/python-options.js';
import { quickJsPoolShape, quickJsSandboxLimitsShape } from './javascript-options.js';
import { QuickJsPool, type QuickJsPoolOptions, type QuickJsSandboxLimits } from './quickjs-pool.js';

/** Options of `createJavaScriptTool`: the tool's own settings, the sandbox limits and the pool's size. */
export interface JavaScriptToolOptions extends CodeToolOptions, QuickJsSandboxLimits {
  /** Size and limits of the worker pool QuickJS runs in. */
  pool?: QuickJsPoolOptions;
}

/** A JavaScript tool backed by a QuickJS worker pool. */
export interface JavaScriptTool extends Tool<unknown> {
  /** The pool, for its stats and `ready()`. */
  readonly pool: QuickJsPool;
  close(): Promise<void>;
}

const javaScriptToolOptionsSchema = lazySchema<JavaScriptToolOptions>('JavaScript tool options', () =>
  z.strictObject({
    ...codeToolOptionsShape(),
    ...quickJsSandboxLimitsShape(),
    pool: z.strictObject(quickJsPoolShape()).optional(),
  }),
);

const defaultDescription =
  'Runs JavaScript (ES2023, QuickJS) in a sandbox with no host objects: no network, files, process or ' +
  'timers. Returns what console.log prints, then the value of the last expression. Each call starts fresh.';

/**
 * Creates a JavaScript tool on QuickJS (WebAssembly) in a pool of worker threads, which start warming at once
 * (await `tool.pool.ready()` to wait). Every call gets a new runtime and context, so nothing leaks between
 * calls (prototype pollution included); the only global added is a `console` whose output is captured and
 * capped. Limits: heap (`memoryLimitMb`), stack, output, and a wall-clock deadline enforced from the host: the
 * code is interrupted inside QuickJS, and a worker stuck in one long built-in call is terminated and replaced.
 * Input: `{ code }` or the code as a bare string.
 */
export function createJavaScriptTool(options: JavaScriptToolOptions = {}): JavaScriptTool {
  const valid = parse(javaScriptToolOptionsSchema, options);
  const name = valid.name ?? 'javascript';
  const defaultTimeoutMs = valid.timeoutMs ?? 5_000;
  const maxCodeLength = valid.maxCodeLength ?? 100_000;
  const pool = new QuickJsPool({
    ...valid.pool,
    memoryLimitMb: valid.memoryLimitMb,
    maxStackSizeKb: valid.maxStackSizeKb,
    outputLimit: valid.outputLimit,
  });
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
