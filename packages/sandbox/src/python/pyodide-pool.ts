import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from '@arpo/core';
import type { CodeRunOutcome } from '../limits/code-result.js';
import {
  type DecodedResult,
  type OutcomeParts,
  type StopReason,
  type WorkerLaunch,
  WorkerPool,
  type WorkerPoolStats,
} from '../workers/worker-pool.js';
import {
  type PyodideWorkerData,
  type PyodideWorkerMessage,
  type PyodideWorkerRequest,
  pyodideWorkerSource,
} from './pyodide-worker-source.js';
import { pyodidePoolOptionsSchema } from './python-options.js';
import { pythonExposedSource, pythonRunnerSource } from './python-sandbox-source.js';

/** Limits and sizing of a Pyodide worker pool. Every field has a default. */
export interface PyodidePoolOptions {
  /** Worker threads, each with its own interpreter; also the number of calls that run at once. Default 2. */
  size?: number;
  /** Cap on each interpreter's WebAssembly heap, in MiB. Default 512. */
  memoryLimitMb?: number;
  /** V8 heap cap of each worker thread (`resourceLimits.maxOldGenerationSizeMb`), in MiB. Default 256. */
  workerHeapLimitMb?: number;
  /** Characters of stdout kept; more ends the call with `output-limit`. Default 20 000. */
  stdoutLimit?: number;
  /** Characters of stderr kept. Default 5 000. */
  stderrLimit?: number;
  /** Lines of traceback kept in `runtime-error` messages. Default 12. */
  tracebackLines?: number;
  /** How long interrupted code gets to stop before its worker is terminated and replaced. Default 500 ms. */
  interruptGraceMs?: number;
  /** Highest recursion limit code may set (a higher one could overflow the WebAssembly stack). Default 3000. */
  maxRecursionLimit?: number;
  /** Calls allowed to wait for a worker; more are refused with `unavailable`. Default unlimited. */
  maxQueueLength?: number;
  /** Replace a worker after this many calls (0 = never), bounding state a hostile call could leave. Default 0. */
  recycleAfterCalls?: number;
  /** Directory of the `pyodide` npm package. Default: resolved from this package's dependencies. */
  pyodidePath?: string;
}

/** Counters a pool keeps, for metrics and tests. */
export interface PyodidePoolStats extends WorkerPoolStats {
  /**
   * Network requests any worker attempted, while loading or during a call (should stay 0: Pyodide loads from
   * disk and user code has no way to the JavaScript network APIs). Each is refused and reported at once.
   */
  networkAttempts: number;
}

const snapshotCache = new Map<string, Promise<SharedArrayBuffer | undefined>>();

function resolvePyodidePath(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('pyodide/package.json'));
}

/**
 * A pool of worker threads, each running a locked-down Pyodide interpreter. Calls queue and run one per worker;
 * a runaway call is interrupted, then its worker is terminated and replaced. The first worker loads Pyodide from
 * the npm package (no network) and makes a memory snapshot that later workers start from in a fraction of the
 * time.
 */
export class PyodidePool {
  readonly stats: PyodidePoolStats = {
    workersStarted: 0,
    workersReplaced: 0,
    networkAttempts: 0,
    coldStartMs: undefined,
  };
  private readonly indexURL: string;
  private readonly limits: Required<Omit<PyodidePoolOptions, 'pyodidePath'>>;
  private readonly pool: WorkerPool<string>;

  /** Throws a `ValidationError` naming every bad option. */
  constructor(options: PyodidePoolOptions = {}) {
    const valid = parse(pyodidePoolOptionsSchema, options);
    this.limits = {
      size: valid.size ?? 2,
      memoryLimitMb: valid.memoryLimitMb ?? 512,
      workerHeapLimitMb: valid.workerHeapLimitMb ?? 256,
      stdoutLimit: valid.stdoutLimit ?? 20_000,
      stderrLimit: valid.stderrLimit ?? 5_000,
      tracebackLines: valid.tracebackLines ?? 12,
      interruptGraceMs: valid.interruptGraceMs ?? 500,
      maxRecursionLimit: valid.maxRecursionLimit ?? 3000,
      maxQueueLength: valid.maxQueueLength ?? Number.POSITIVE_INFINITY,
      recycleAfterCalls: valid.recycleAfterCalls ?? 0,
    };
    const path = valid.pyodidePath ?? resolvePyodidePath();
    this.indexURL = path.endsWith(sep) ? path : path + sep;
    const { limits } = this;
    this.pool = new WorkerPool<string>({
      size: limits.size,
      workerHeapLimitMb: limits.workerHeapLimitMb,
      interruptGraceMs: limits.interruptGraceMs,
      maxQueueLength: limits.maxQueueLength,
      recycleAfterCalls: limits.recycleAfterCalls,
      // The first worker makes (or reuses) the snapshot; the rest start from it in parallel.
      warm: 'first-alone',
      // Pyodide polls the cell for a signal number: SIGINT raises KeyboardInterrupt in the running code.
      interruptValue: { timeout: 2, aborted: 2 },
      stats: this.stats,
      texts: {
        closed: 'the Python sandbox is closed',
        wasClosed: 'the Python sandbox was closed',
        startFailed: (message) => `the Python sandbox failed to start: ${message}`,
        queueFull: (waiting) => `the Python sandbox queue is full (${waiting} calls waiting)`,
        exitedWhileStarting: (code) => `the Python worker exited with code ${code} while starting`,
        outOfMemory: 'the Python worker ran out of memory; it was replaced',
        crashed: (message) => `the Python worker crashed (${message}); it was replaced`,
        exited: 'the Python worker exited; it was replaced',
      },
      prepare: (interrupt) => this.prepare(interrupt),
      request: ({ id, code }): PyodideWorkerRequest => ({
        id,
        code,
        stdoutLimit: limits.stdoutLimit,
        stderrLimit: limits.stderrLimit,
        tracebackLines: limits.tracebackLines,
      }),
      decode: (payload, call) => this.decode(payload, call.stopReason, call.timeoutMs, call.durationMs),
      outcome: (parts) => this.outcome(parts),
    });
  }

  /** Resolves once every worker is loaded; rejects if Pyodide cannot start. */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  /** Runs `code` on the next free worker. Never rejects. */
  run(code: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<CodeRunOutcome> {
    return this.pool.run(code, options);
  }

  /** Terminates every worker. Queued calls resolve with `unavailable`. Idempotent. */
  close(): Promise<void> {
    return this.pool.close();
  }

  private outcome(parts: OutcomeParts): CodeRunOutcome {
    return { ...parts, stdoutLimit: this.limits.stdoutLimit, stderrLimit: this.limits.stderrLimit };
  }

  /** The worker's script and data; the first worker of a Pyodide directory also makes its snapshot. */
  private async prepare(interrupt: SharedArrayBuffer): Promise<WorkerLaunch> {
    const cached = snapshotCache.get(this.indexURL);
    const snapshot = cached ? await cached : undefined;
    let settleSnapshot: ((value: SharedArrayBuffer | undefined) => void) | undefined;
    if (!cached) {
      snapshotCache.set(this.indexURL, new Promise((resolve) => (settleSnapshot = resolve)));
    }
    const workerData: PyodideWorkerData = {
      indexURL: this.indexURL,
      moduleURL: pathToFileURL(join(this.indexURL, 'pyodide.mjs')).href,
      snapshot,
      interrupt,
      wasmMemoryLimitBytes: this.limits.memoryLimitMb * 1024 * 1024,
      maxRecursionLimit: this.limits.maxRecursionLimit,
      exposedSource: pythonExposedSource,
      runnerSource: pythonRunnerSource,
    };
    return {
      source: pyodideWorkerSource,
      workerData,
      onMessage: (message) => {
        if (message.type === 'network-attempt') this.stats.networkAttempts += 1;
      },
      onReady: (message) => {
        if (!settleSnapshot) return;
        const made = (message as Extract<PyodideWorkerMessage, { type: 'ready' }>).snapshot;
        let shared: SharedArrayBuffer | undefined;
        if (made) {
          shared = new SharedArrayBuffer(made.byteLength);
          new Uint8Array(shared).set(made);
        }
        settleSnapshot(shared);
      },
      onStartFailed: () => {
        if (!settleSnapshot) return;
        snapshotCache.delete(this.indexURL);
        settleSnapshot(undefined);
      },
    };
  }

  private decode(
    payload: string,
    stopReason: StopReason | undefined,
    timeoutMs: number,
    durationMs: number,
  ): DecodedResult {
    const [status, stdout, stderr, message] = JSON.parse(payload) as [string, string, string, string];
    const parts = { stdout, stderr, durationMs };
    const keep = (outcome: OutcomeParts) => ({
      outcome: this.outcome(outcome),
      replaceWorker: false,
    });
    switch (status) {
      case 'ok':
      case 'output-limit':
      case 'error':
      case 'forbidden':
        return keep({ ...parts, status, message });
      case 'memory-limit':
        // WebAssembly memory never shrinks: a worker that hit the cap is replaced.
        return {
          outcome: this.outcome({
            ...parts,
            status,
            message: `MemoryError: the code exceeded the ${this.limits.memoryLimitMb} MiB memory cap (its worker was replaced)`,
          }),
          replaceWorker: true,
        };
      case 'interrupted':
        if (stopReason === 'timeout') {
          return keep({
            ...parts,
            status: 'timeout',
            message: `the code ran longer than ${timeoutMs} ms and was stopped`,
          });
        }
        if (stopReason === 'aborted')
          return keep({ ...parts, status: 'aborted', message: 'the call was aborted' });
        return keep({ ...parts, status: 'error', message: 'KeyboardInterrupt' });
      default:
        return {
          outcome: this.outcome({
            ...parts,
            status: 'error',
            message: `the Python interpreter crashed (${message}); its worker was replaced`,
          }),
          replaceWorker: true,
        };
    }
  }
}
