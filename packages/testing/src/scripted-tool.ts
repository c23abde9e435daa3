import { type Tool, type ToolExecuteOptions, type ToolResult, toolFailure, toolSuccess } from '@arpo/core';

export interface ScriptedToolOptions {
  name: string;
  description?: string;
  /** Returns the tool's output text or a full ToolResult. May be async. */
  respond: (input: unknown) => string | ToolResult | Promise<string | ToolResult>;
  /** Simulated latency per call; the call honours abort and timeout while waiting. */
  latencyMs?: number;
}

export interface ScriptedTool extends Tool {
  /** Every input the tool was called with, in order. */
  readonly calls: unknown[];
}

/** Waits `latencyMs`, ending early on abort or when `timeoutMs` is shorter. */
function wait(options: { latencyMs: number; timeoutMs?: number; signal?: AbortSignal }) {
  return new Promise<'done' | 'aborted' | 'timeout'>((resolve) => {
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (outcome: 'done' | 'aborted' | 'timeout') => {
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = () => finish('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    timers.push(setTimeout(() => finish('done'), options.latencyMs));
    if (options.timeoutMs !== undefined && options.timeoutMs < options.latencyMs) {
      timers.push(setTimeout(() => finish('timeout'), options.timeoutMs));
    }
  });
}

/** A Tool whose results come from a function: for unit tests of agent loops. Passes the Tool conformance suite. */
export function createScriptedTool(options: ScriptedToolOptions): ScriptedTool {
  const calls: unknown[] = [];
  return {
    name: options.name,
    description: options.description ?? `Scripted tool ${options.name}`,
    inputSchema: { type: 'object', properties: { input: { type: 'string' } } },
    calls,
    async execute(input: unknown, executeOptions?: ToolExecuteOptions): Promise<ToolResult> {
      calls.push(input);
      const signal = executeOptions?.signal;
      if (signal?.aborted) return toolFailure('aborted', 'call was aborted before it started');
      if ((options.latencyMs ?? 0) > 0) {
        const outcome = await wait({
          latencyMs: options.latencyMs ?? 0,
          timeoutMs: executeOptions?.timeoutMs,
          signal,
        });
        if (outcome === 'aborted') return toolFailure('aborted', 'call was aborted');
        if (outcome === 'timeout')
          return toolFailure('timeout', `call exceeded ${executeOptions?.timeoutMs} ms`);
      }
      try {
        const result = await options.respond(input);
        return typeof result === 'string' ? toolSuccess(result) : result;
      } catch (error) {
        return toolFailure('runtime-error', error instanceof Error ? error.message : String(error));
      }
    },
    async close() {},
  };
}
