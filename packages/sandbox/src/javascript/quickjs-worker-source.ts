// The worker thread's script, run with `new Worker(source, { eval: true })`. A string rather than a file so it
// runs the same from TypeScript sources (tests) and from dist/, without a loader in the worker. It never uses
// template literals, so it can live inside one here.

/** Data the pool hands each worker. */
export interface QuickJsWorkerData {
  /** Absolute path of `quickjs-emscripten`'s CommonJS entry. */
  modulePath: string;
  /** Int32 cell the interrupt handler polls: 1 = the deadline passed, 2 = the call was aborted. */
  interrupt: SharedArrayBuffer;
  /** Heap cap of each call's QuickJS runtime, in bytes. */
  memoryLimitBytes: number;
  /** Cap on the whole WebAssembly memory of the worker's QuickJS instance, in bytes: the hard memory bound. */
  wasmMemoryLimitBytes: number;
  /** QuickJS stack cap, in bytes. */
  maxStackBytes: number;
  /** Characters of console output plus final value kept. */
  outputLimit: number;
}

/** Worker → pool messages. */
export type QuickJsWorkerMessage =
  | { type: 'ready'; loadMs: number }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; result: QuickJsWorkerResult };

/**
 * How a call ended in the worker: `[status, output, message]`. `fatal` means the engine itself failed (a trap or
 * a host stack overflow) and the worker must be replaced.
 */
export type QuickJsWorkerResult = [
  status: 'ok' | 'error' | 'timeout' | 'aborted' | 'memory-limit' | 'output-limit' | 'fatal',
  output: string,
  message: string,
];

/** Pool → worker message: run one piece of code. */
export interface QuickJsWorkerRequest {
  id: number;
  code: string;
  timeoutMs: number;
}

export const quickJsWorkerSource: string = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const data = workerData;
const interrupt = new Int32Array(data.interrupt);
// Set when the WebAssembly memory refused to grow during the current call: the real memory cap was reached.
let growRefused = false;

// Renders a value the way the tool prints it, cut to 'limit' characters. It runs inside the sandbox, so user
// getters and toString methods stay there; it keeps its own references to the intrinsics it uses, taken before
// any user code runs, so a call that replaces String.prototype.slice or JSON.stringify cannot make it return
// more than 'limit' characters.
const formatterSource = '(function () {\\n' +
  '  const apply = Reflect.apply, slice = String.prototype.slice, stringify = JSON.stringify;\\n' +
  '  const toText = String, isError = (value) => value instanceof Error;\\n' +
  '  const bigints = (key, item) => (typeof item === "bigint" ? toText(item) + "n" : item);\\n' +
  '  return function format(value, limit) {\\n' +
  '    let text;\\n' +
  '    if (typeof value === "string") text = value;\\n' +
  '    else if (typeof value === "function") text = "[Function" + (value.name ? ": " + toText(value.name) : "") + "]";\\n' +
  '    else if (typeof value === "bigint") text = toText(value) + "n";\\n' +
  '    else if (typeof value === "symbol" || value === null || typeof value !== "object") text = toText(value);\\n' +
  '    else if (isError(value)) text = toText(value);\\n' +
  '    else {\\n' +
  '      try {\\n' +
  '        text = stringify(value, bigints);\\n' +
  '        if (text === undefined) text = toText(value);\\n' +
  '      } catch (error) {\\n' +
  '        text = toText(value);\\n' +
  '      }\\n' +
  '    }\\n' +
  '    return text.length > limit ? apply(slice, text, [0, limit]) : text;\\n' +
  '  };\\n' +
  '})()';

class OutputLimitSignal extends Error {}

/** Keeps up to 'limit' characters and remembers whether more arrived. */
function createOutput(limit) {
  const parts = [];
  let size = 0;
  return {
    overflowed: false,
    room() {
      return limit - size;
    },
    append(text) {
      if (this.overflowed) return false;
      const room = limit - size;
      if (text.length <= room) {
        parts.push(text);
        size += text.length;
        return true;
      }
      if (room > 0) parts.push(text.slice(0, room));
      size = limit;
      this.overflowed = true;
      return false;
    },
    text() {
      return parts.join('');
    },
  };
}

function describeError(error) {
  if (typeof error === 'object' && error !== null) {
    const { name, message, stack } = error;
    if (typeof message === 'string') {
      const head = (typeof name === 'string' ? name : 'Error') + ': ' + message;
      const trace = typeof stack === 'string' ? stack.trimEnd() : '';
      return trace === '' ? head : head + '\\n' + trace;
    }
  }
  return 'Uncaught ' + (typeof error === 'string' ? error : JSON.stringify(error));
}

function unwrap(context, result) {
  if (result.error) {
    const error = context.dump(result.error);
    result.error.dispose();
    throw new Error(describeError(error));
  }
  return result.value;
}

function run(quickjs, request) {
  const deadline = performance.now() + request.timeoutMs;
  const output = createOutput(data.outputLimit);
  let stoppedBy;
  const runtime = quickjs.newRuntime();
  try {
    runtime.setMemoryLimit(data.memoryLimitBytes);
    runtime.setMaxStackSize(data.maxStackBytes);
    const context = runtime.newContext();
    try {
      const formatter = unwrap(context, context.evalCode(formatterSource, 'formatter.js'));
      try {
        // One more character than fits, so an overflow is still seen.
        const format = (handle) => {
          const limit = context.newNumber(Math.max(0, output.room()) + 1);
          try {
            const text = unwrap(context, context.callFunction(formatter, context.undefined, handle, limit));
            try {
              return context.getString(text);
            } finally {
              text.dispose();
            }
          } finally {
            limit.dispose();
          }
        };
        installConsole(context, output, format);
        // Set only now: the sandbox's own set-up above must not be interrupted (on a loaded machine a stop
        // could arrive while the formatter is still compiling, which used to surface as an engine failure).
        runtime.setInterruptHandler(() => {
          // The pool writes the cell when the call's deadline passes or it is aborted; the local deadline check
          // stops the code on time even when the host is busy.
          // Output past the cap stops the code too, even code that catches the console's error.
          if (output.overflowed) return true;
          const flag = Atomics.load(interrupt, 0);
          if (flag === 2) stoppedBy = 'aborted';
          else if (flag === 1 || performance.now() > deadline) stoppedBy = 'timeout';
          return stoppedBy !== undefined;
        });
        const result = context.evalCode(request.code, 'code.js');
        if (result.error) {
          // The code is done; reading its error may need memory the code used up (the WebAssembly cap still holds).
          runtime.setMemoryLimit(-1);
          let text;
          try {
            text = describeError(context.dump(result.error));
          } catch (error) {
            text = '';
          }
          result.error.dispose();
          if (output.overflowed) return ['output-limit', output.text(), ''];
          if (stoppedBy) return [stoppedBy, output.text(), ''];
          if (growRefused || /out of memory/i.test(text)) {
            return ['memory-limit', output.text(), /out of memory/i.test(text) ? text : 'InternalError: out of memory'];
          }
          return ['error', output.text(), text];
        }
        let shown = '';
        try {
          if (context.typeof(result.value) !== 'undefined') shown = format(result.value);
        } catch (error) {
          if (stoppedBy) return [stoppedBy, output.text(), ''];
          const text = String((error && error.message) || error);
          if (growRefused || /out of memory/i.test(text)) return ['memory-limit', output.text(), text];
          return ['error', output.text(), text];
        } finally {
          result.value.dispose();
        }
        if (output.overflowed || (shown !== '' && !output.append(shown))) {
          return ['output-limit', output.text(), ''];
        }
        return ['ok', output.text(), ''];
      } finally {
        formatter.dispose();
      }
    } finally {
      context.dispose();
    }
  } finally {
    runtime.dispose();
  }
}

/** Adds console.log/info/warn/error/debug, all writing one line of space-joined formatted arguments. */
function installConsole(context, output, format) {
  const consoleObject = context.newObject();
  for (const method of ['log', 'info', 'warn', 'error', 'debug']) {
    const fn = context.newFunction(method, (...args) => {
      if (output.overflowed) return { error: context.newError('console output limit exceeded') };
      try {
        const parts = [];
        for (const arg of args) parts.push(format(arg));
        if (!output.append(parts.join(' ') + '\\n')) throw new OutputLimitSignal();
      } catch (error) {
        if (error instanceof OutputLimitSignal) return { error: context.newError('console output limit exceeded') };
        return { error: context.newError(String((error && error.message) || error)) };
      }
      return context.undefined;
    });
    context.setProp(consoleObject, method, fn);
    fn.dispose();
  }
  context.setProp(context.global, 'console', consoleObject);
  consoleObject.dispose();
}

async function start() {
  const started = performance.now();
  const { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } = require(data.modulePath);
  // A memory with a hard maximum. QuickJS's own limit does not count ArrayBuffer contents and undercounts
  // small objects, so this maximum is what really bounds a call's memory.
  const pages = (bytes) => Math.ceil(bytes / 65536);
  const wasmMemory = new WebAssembly.Memory({
    initial: pages(16 * 1024 * 1024),
    maximum: Math.max(pages(16 * 1024 * 1024), pages(data.wasmMemoryLimitBytes)),
  });
  const grow = wasmMemory.grow;
  wasmMemory.grow = function (delta) {
    try {
      return grow.call(wasmMemory, delta);
    } catch (error) {
      growRefused = true;
      throw error;
    }
  };
  const variant = newVariant(RELEASE_SYNC, { wasmMemory });
  const quickjs = await newQuickJSWASMModuleFromVariant(variant);
  parentPort.on('message', (request) => {
    let result;
    growRefused = false;
    try {
      result = run(quickjs, request);
    } catch (error) {
      // The engine failed below the sandbox (a WebAssembly trap, the host stack): the pool replaces this worker.
      const message = error instanceof Error ? error.name + ': ' + error.message : String(error);
      result = ['fatal', '', message.slice(0, 4000)];
    }
    parentPort.postMessage({ type: 'result', id: request.id, result });
  });
  parentPort.postMessage({ type: 'ready', loadMs: performance.now() - started });
}

start().catch((error) => {
  parentPort.postMessage({ type: 'failed', message: String((error && error.stack) || error) });
});
`;
