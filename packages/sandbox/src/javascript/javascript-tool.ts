import {
  type JsonSchema,
  lazySchema,
  parse,
  type Tool,
  type ToolExecuteOptions,
  type ToolResult,
} from '@arpo/core';
import {
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { z } from 'zod';
import { codeInputSchema, readCodeInput } from '../limits/code-input.js';
import { type CodeRunOutcome, codeRunResult } from '../limits/code-result.js';
import { OutputCap } from '../limits/output-cap.js';
import { type CodeToolOptions, codeToolOptionsShape } from '../python/python-options.js';

/** Options of `createJavaScriptTool`. */
export interface JavaScriptToolOptions extends CodeToolOptions {
  /** Heap cap of each call's QuickJS runtime, in MiB. Default 64. */
  memoryLimitMb?: number;
  /** QuickJS stack cap, in KiB (deep recursion ends with a RangeError-like error). Default 256. */
  maxStackSizeKb?: number;
  /** Characters of console output kept; more ends the call with `output-limit`. Default 20 000. */
  outputLimit?: number;
}

/** The JavaScript tool. */
export interface JavaScriptTool extends Tool<unknown> {
  close(): Promise<void>;
}

const javaScriptToolOptionsSchema = lazySchema<JavaScriptToolOptions>('JavaScript tool options', () =>
  z.strictObject({
    ...codeToolOptionsShape(),
    memoryLimitMb: z.number().int().min(1).max(2048).optional(),
    // Past ~400 KiB QuickJS's recursion can overflow the host's own stack before its own check fires.
    maxStackSizeKb: z.number().int().min(16).max(384).optional(),
    outputLimit: z.number().int().min(1).optional(),
  }),
);

const defaultDescription =
  'Runs JavaScript (ES2023, QuickJS) in a sandbox with no host objects: no network, files, process or ' +
  'timers. Returns what console.log prints, then the value of the last expression. Each call starts fresh.';

/** Renders a value the way the tool prints it; runs inside the sandbox, so user getters stay in the sandbox. */
const formatterSource = `(function (value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'function') return '[Function' + (value.name ? ': ' + value.name : '') + ']';
  if (typeof value === 'bigint') return String(value) + 'n';
  if (typeof value === 'symbol' || value === null || typeof value !== 'object') return String(value);
  if (value instanceof Error) return String(value);
  try {
    const text = JSON.stringify(value, (key, item) => (typeof item === 'bigint' ? String(item) + 'n' : item));
    return text === undefined ? String(value) : text;
  } catch (error) {
    return String(value);
  }
})`;

class OutputLimitSignal extends Error {}

/**
 * Creates a JavaScript tool on QuickJS (WebAssembly). Every call gets a new runtime and context, so nothing
 * leaks between calls (prototype pollution included); the only global added is a `console` whose output is
 * captured and capped. Limits: heap (`memoryLimitMb`), stack, and a deadline checked by QuickJS's interrupt
 * handler. A call runs synchronously on the calling thread, so it holds the event loop for at most its
 * timeout; an AbortSignal is honoured before the call starts and at the interrupt checks.
 */
export function createJavaScriptTool(options: JavaScriptToolOptions = {}): JavaScriptTool {
  const valid = parse(javaScriptToolOptionsSchema, options);
  const name = valid.name ?? 'javascript';
  const defaultTimeoutMs = valid.timeoutMs ?? 5_000;
  const maxCodeLength = valid.maxCodeLength ?? 100_000;
  const outputLimit = valid.outputLimit ?? 20_000;
  const memoryLimitBytes = (valid.memoryLimitMb ?? 64) * 1024 * 1024;
  const maxStackBytes = (valid.maxStackSizeKb ?? 256) * 1024;
  let modulePromise: Promise<QuickJSWASMModule> | undefined;
  let closed = false;

  const outcome = (
    parts: Pick<CodeRunOutcome, 'status' | 'stdout' | 'message' | 'durationMs'>,
  ): CodeRunOutcome => ({
    ...parts,
    stderr: '',
    stdoutLimit: outputLimit,
    stderrLimit: outputLimit,
  });

  function run(
    module: QuickJSWASMModule,
    code: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): CodeRunOutcome {
    const started = performance.now();
    const deadline = started + timeoutMs;
    const output = new OutputCap(outputLimit);
    let stoppedBy: 'timeout' | 'aborted' | undefined;
    const runtime = module.newRuntime();
    try {
      runtime.setMemoryLimit(memoryLimitBytes);
      runtime.setMaxStackSize(maxStackBytes);
      runtime.setInterruptHandler(() => {
        if (signal?.aborted) stoppedBy = 'aborted';
        else if (performance.now() > deadline) stoppedBy = 'timeout';
        return stoppedBy !== undefined;
      });
      const context = runtime.newContext();
      try {
        const formatter = unwrap(context, context.evalCode(formatterSource, 'formatter.js'));
        const format = (handle: QuickJSHandle): string => {
          if (context.typeof(handle) === 'string') return context.getString(handle);
          const text = unwrap(context, context.callFunction(formatter, context.undefined, handle));
          try {
            return context.getString(text);
          } finally {
            text.dispose();
          }
        };
        installConsole(
          context,
          (line) => {
            if (!output.append(`${line}\n`)) throw new OutputLimitSignal();
          },
          format,
        );
        const result = context.evalCode(code, 'code.js');
        const durationMs = () => performance.now() - started;
        if (result.error) {
          const error = context.dump(result.error) as
            | { name?: string; message?: string; stack?: string }
            | string;
          result.error.dispose();
          formatter.dispose();
          if (output.overflowed)
            return outcome({
              status: 'output-limit',
              stdout: output.text,
              message: '',
              durationMs: durationMs(),
            });
          if (stoppedBy === 'timeout') {
            return outcome({
              status: 'timeout',
              stdout: output.text,
              message: `the code ran longer than ${timeoutMs} ms and was stopped`,
              durationMs: durationMs(),
            });
          }
          if (stoppedBy === 'aborted')
            return outcome({
              status: 'aborted',
              stdout: output.text,
              message: 'the call was aborted',
              durationMs: durationMs(),
            });
          const text = describeError(error);
          if (/out of memory/i.test(text)) {
            return outcome({
              status: 'memory-limit',
              stdout: output.text,
              message: `${text}: the code exceeded the ${memoryLimitBytes / 1024 / 1024} MiB heap cap`,
              durationMs: durationMs(),
            });
          }
          return outcome({ status: 'error', stdout: output.text, message: text, durationMs: durationMs() });
        }
        let shown = '';
        try {
          if (context.typeof(result.value) !== 'undefined') shown = format(result.value);
        } finally {
          result.value.dispose();
          formatter.dispose();
        }
        if (output.overflowed || (shown !== '' && !output.append(shown))) {
          return outcome({
            status: 'output-limit',
            stdout: output.text,
            message: '',
            durationMs: durationMs(),
          });
        }
        return outcome({ status: 'ok', stdout: output.text, message: '', durationMs: durationMs() });
      } finally {
        context.dispose();
      }
    } finally {
      runtime.dispose();
    }
  }

  return {
    name,
    description: valid.description ?? defaultDescription,
    inputSchema: codeInputSchema as unknown as JsonSchema,
    async execute(input: unknown, executeOptions: ToolExecuteOptions = {}): Promise<ToolResult> {
      const code = readCodeInput(input, { toolName: name, maxCodeLength });
      if (!code.ok) return code.result;
      if (executeOptions.signal?.aborted) {
        return codeRunResult(
          outcome({
            status: 'aborted',
            stdout: '',
            message: 'the call was aborted before it started',
            durationMs: 0,
          }),
        );
      }
      if (closed) {
        return codeRunResult(
          outcome({
            status: 'unavailable',
            stdout: '',
            message: 'the JavaScript tool is closed',
            durationMs: 0,
          }),
        );
      }
      modulePromise ??= newQuickJSWASMModule();
      let module: QuickJSWASMModule;
      try {
        module = await modulePromise;
      } catch (error) {
        modulePromise = undefined;
        return codeRunResult(
          outcome({
            status: 'unavailable',
            stdout: '',
            message: `QuickJS failed to load: ${(error as Error).message}`,
            durationMs: 0,
          }),
        );
      }
      try {
        return codeRunResult(
          run(module, code.code, executeOptions.timeoutMs ?? defaultTimeoutMs, executeOptions.signal),
        );
      } catch (error) {
        // A host-level failure (the WebAssembly stack overflowing) may leave the engine inconsistent: start a
        // new instance next call.
        modulePromise = undefined;
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return codeRunResult(
          outcome({
            status: 'error',
            stdout: '',
            message: `the JavaScript engine failed (${message}); it was reset`,
            durationMs: 0,
          }),
        );
      }
    },
    async close() {
      closed = true;
      modulePromise = undefined;
    },
  };
}

function unwrap(context: QuickJSContext, result: ReturnType<QuickJSContext['evalCode']>): QuickJSHandle {
  if (result.error) {
    const error = context.dump(result.error);
    result.error.dispose();
    throw new Error(describeError(error));
  }
  return result.value;
}

function describeError(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { name, message, stack } = error as { name?: unknown; message?: unknown; stack?: unknown };
    if (typeof message === 'string') {
      const head = `${typeof name === 'string' ? name : 'Error'}: ${message}`;
      const trace = typeof stack === 'string' ? stack.trimEnd() : '';
      return trace === '' ? head : `${head}\n${trace}`;
    }
  }
  return `Uncaught ${typeof error === 'string' ? error : JSON.stringify(error)}`;
}

/** Adds `console.log/info/warn/error/debug`, all writing one line of space-joined formatted arguments. */
function installConsole(
  context: QuickJSContext,
  write: (line: string) => void,
  format: (handle: QuickJSHandle) => string,
): void {
  const consoleObject = context.newObject();
  for (const method of ['log', 'info', 'warn', 'error', 'debug']) {
    const fn = context.newFunction(method, (...args) => {
      try {
        write(args.map(format).join(' '));
      } catch (error) {
        if (error instanceof OutputLimitSignal)
          return { error: context.newError('console output limit exceeded') };
        throw error;
      }
      return context.undefined;
    });
    context.setProp(consoleObject, method, fn);
    fn.dispose();
  }
  context.setProp(context.global, 'console', consoleObject);
  consoleObject.dispose();
}
