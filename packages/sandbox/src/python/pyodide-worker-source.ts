// The worker thread's script, run with `new Worker(source, { eval: true })`. A string rather than a file so it
// runs the same from TypeScript sources (tests) and from dist/, without a loader in the worker.

/** Data the pool hands each worker. */
export interface PyodideWorkerData {
  /** Directory of the `pyodide` package (ends with `/`). */
  indexURL: string;
  /** File URL of its `pyodide.mjs`. */
  moduleURL: string;
  /** A memory snapshot to start from; without one the worker loads from scratch and returns a snapshot. */
  snapshot?: SharedArrayBuffer;
  /** Int32 cell Pyodide polls for signals: writing 2 raises KeyboardInterrupt in the running code. */
  interrupt: SharedArrayBuffer;
  /** Cap on the WebAssembly heap, in bytes. */
  wasmMemoryLimitBytes: number;
  maxRecursionLimit: number;
  exposedSource: string;
  runnerSource: string;
}

/** Worker → pool messages. */
export type PyodideWorkerMessage =
  | { type: 'ready'; loadMs: number; snapshot?: Uint8Array }
  /** Sent at every refused network request, while loading or during a call, before the refusal is thrown. */
  | { type: 'network-attempt'; what: string }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; result: string };

/** Pool → worker message: run one piece of code. */
export interface PyodideWorkerRequest {
  id: number;
  code: string;
  stdoutLimit: number;
  stderrLimit: number;
  tracebackLines: number;
}

export const pyodideWorkerSource: string = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const data = workerData;

// Nothing in here may reach the network: refuse every attempt and report each one to the pool at once, so
// an attempt is counted even if the worker is terminated right after (a timed-out call).
const reportNetwork = function (what) {
  parentPort.postMessage({ type: 'network-attempt', what });
};
const refuseNetwork = function (what) {
  return function () {
    reportNetwork(what);
    throw new Error('network access is disabled in the Python sandbox');
  };
};
globalThis.fetch = function () {
  reportNetwork('fetch');
  return Promise.reject(new Error('network access is disabled in the Python sandbox'));
};
globalThis.WebSocket = refuseNetwork('WebSocket');
for (const name of ['node:http', 'node:https', 'node:net', 'node:tls', 'node:dgram']) {
  const module = require(name);
  for (const key of ['request', 'get', 'connect', 'createConnection', 'createSocket']) {
    if (typeof module[key] === 'function') module[key] = refuseNetwork(name + '.' + key);
  }
}

// Cap the WebAssembly heap: a refused grow makes malloc fail, which Python reports as MemoryError.
const originalGrow = WebAssembly.Memory.prototype.grow;
const memoryLimit = data.wasmMemoryLimitBytes;
WebAssembly.Memory.prototype.grow = function grow(delta) {
  if (this.buffer.byteLength + delta * 65536 > memoryLimit) {
    throw new RangeError('the Python sandbox memory cap was reached');
  }
  return originalGrow.call(this, delta);
};

async function start() {
  const started = performance.now();
  const { loadPyodide } = await import(data.moduleURL);
  const ignore = function () {};
  const options = {
    indexURL: data.indexURL,
    // The 'js' module is this empty object: Python sees no host globals through it.
    jsglobals: Object.create(null),
    env: {},
    stdout: ignore,
    stderr: ignore,
  };
  if (data.snapshot) options._loadSnapshot = new Uint8Array(data.snapshot);
  else options._makeSnapshot = true;
  const pyodide = await loadPyodide(options);
  const snapshot = data.snapshot ? undefined : pyodide.makeMemorySnapshot();
  const loadMs = performance.now() - started;
  pyodide.setInterruptBuffer(new Int32Array(data.interrupt));

  const makeDict = pyodide.globals.get('dict');
  const exposed = makeDict();
  exposed.set('__name__', 'sandbox');
  pyodide.runPython(data.exposedSource, { globals: exposed, filename: '<sandbox>' });
  const privateBuiltins = pyodide.runPython("__import__('builtins').__dict__.copy()");
  const runnerGlobals = makeDict();
  runnerGlobals.set('__builtins__', privateBuiltins);
  runnerGlobals.set('__name__', 'sandbox');
  runnerGlobals.set('exposed', exposed);
  pyodide.runPython(data.runnerSource, { globals: runnerGlobals, filename: '<sandbox>' });
  const run = runnerGlobals.get('run');
  const lockdown = runnerGlobals.get('lockdown');
  lockdown(data.maxRecursionLimit);
  for (const proxy of [lockdown, runnerGlobals, privateBuiltins, exposed, makeDict]) proxy.destroy();

  // JavaScript-side second line: even a leaked proxy cannot compile code from strings or mount the host disk.
  try {
    delete pyodide.FS.filesystems.NODEFS;
  } catch {}
  for (const key of Reflect.ownKeys(pyodide)) {
    try {
      delete pyodide[key];
    } catch {}
  }
  const refuseCode = function () {
    throw new Error('code generation from strings is disabled in the Python sandbox');
  };
  const functionKinds = [
    Function,
    async function () {}.constructor,
    function* () {}.constructor,
    async function* () {}.constructor,
  ];
  for (const kind of functionKinds) {
    Object.defineProperty(kind.prototype, 'constructor', { value: refuseCode, writable: false, configurable: false });
  }
  globalThis.eval = refuseCode;
  globalThis.Function = refuseCode;

  parentPort.on('message', (request) => {
    let result;
    try {
      result = run(request.code, request.stdoutLimit, request.stderrLimit, request.tracebackLines);
    } catch (error) {
      const message = String((error && error.message) || error).slice(0, 4000);
      result = JSON.stringify(['fatal', '', '', message]);
    }
    parentPort.postMessage({ type: 'result', id: request.id, result });
  });
  const ready = { type: 'ready', loadMs };
  if (snapshot) {
    ready.snapshot = snapshot;
    parentPort.postMessage(ready, [snapshot.buffer]);
  } else {
    parentPort.postMessage(ready);
  }
}

start().catch((error) => {
  parentPort.postMessage({ type: 'failed', message: String((error && error.stack) || error) });
});
`;
