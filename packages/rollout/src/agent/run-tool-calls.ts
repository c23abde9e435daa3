import type { Tool, ToolCallParse, ToolCallRecord, ToolResult } from '@arpo/core';

/** Runs async jobs with at most `limit` in flight; results keep input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index] as T, index);
    }
  });
  await Promise.all(workers);
  return results;
}

export interface ExecutedCall {
  call: ToolCallParse;
  result: ToolResult;
  record: ToolCallRecord;
}

/**
 * Executes one parsed call. Malformed calls and unknown tools become tool errors; a tool that rejects (a bug)
 * becomes an `internal` error. Never throws.
 */
export async function executeToolCall(options: {
  call: ToolCallParse;
  tools: ReadonlyMap<string, Tool>;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<ExecutedCall> {
  const { call } = options;
  const started = performance.now();
  let result: ToolResult;
  if (call.kind === 'malformed') {
    result = { ok: false, error: call.error };
  } else {
    const tool = options.tools.get(call.toolName);
    if (tool === undefined) {
      const known = [...options.tools.keys()].join(', ');
      result = {
        ok: false,
        error: { code: 'unknown-tool', message: `unknown tool '${call.toolName}'; available: ${known}` },
      };
    } else {
      try {
        result = await tool.execute(call.input, { timeoutMs: options.timeoutMs, signal: options.signal });
      } catch (error) {
        result = {
          ok: false,
          error: {
            code: 'internal',
            message: `tool '${call.toolName}' failed: ${error instanceof Error ? error.message : String(error)}`,
          },
        };
      }
    }
  }
  const latencyMs = performance.now() - started;
  const record: ToolCallRecord = {
    toolName: call.toolName ?? '(unknown)',
    input: call.kind === 'call' ? call.input : call.raw,
    output: result.ok ? result.output : result.error.message,
    latencyMs,
  };
  if (!result.ok) record.error = result.error;
  if (result.metadata?.cached === true) record.cached = true;
  return { call, result, record };
}
