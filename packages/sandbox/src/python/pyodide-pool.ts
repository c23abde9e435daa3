import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parse } from '@arpo/core';
import type { CodeRunOutcome, CodeRunStatus } from '../limits/code-result.js';
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
export interface PyodidePoolStats {
  /** Workers started, including replacements. */
  workersStarted: number;
  /** Workers terminated because of a timeout, memory cap, crash or recycling. */
  workersReplaced: number;
  /** Network requests any worker attempted while loading (should stay 0: Pyodide loads from disk). */
  networkAttempts: number;
  /** Milliseconds from construction until every worker was ready (the pool's cold start). */
  coldStartMs: number | undefined;
}

interface RunRequest {
  code: string;
  timeoutMs: number;
  signal?: AbortSignal;
  resolve: (outcome: CodeRunOutcome) => void;
  enqueuedAt: number;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  interrupt: Int32Array;
  ready: boolean;
  calls: number;
  current?: { id: number; finish: (status: CodeRunStatus | 'raw', payload: string) => void };
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
  private readonly slots = new Set<Slot>();
  private readonly queue: RunRequest[] = [];
  private readonly idle: Slot[] = [];
  private readonly indexURL: string;
  private readonly limits: Required<Omit<PyodidePoolOptions, 'pyodidePath'>>;
  private nextId = 1;
  private closed = false;
  private readonly started: Promise<void>;
  private startupError: Error | undefined;

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
    this.started = this.warm();
    // Callers see startup failures through `ready()` or as `unavailable` results.
    this.started.catch(() => {});
  }

  /** Resolves once every worker is loaded; rejects if Pyodide cannot start. */
  ready(): Promise<void> {
    return this.started;
  }

  /** Runs `code` on the next free worker. Never rejects. */
  run(code: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<CodeRunOutcome> {
    return new Promise((resolve) => {
      const fail = (status: CodeRunStatus, message: string) =>
        resolve(this.outcome({ status, stdout: '', stderr: '', message, durationMs: 0 }));
      if (options.signal?.aborted) return fail('aborted', 'the call was aborted before it started');
      if (this.closed) return fail('unavailable', 'the Python sandbox is closed');
      if (this.startupError)
        return fail('unavailable', `the Python sandbox failed to start: ${this.startupError.message}`);
      if (this.queue.length >= this.limits.maxQueueLength && this.idle.length === 0) {
        return fail(
          'unavailable',
          `the Python sandbox queue is full (${this.limits.maxQueueLength} calls waiting)`,
        );
      }
      const request: RunRequest = {
        code,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        resolve,
        enqueuedAt: performance.now(),
      };
      if (options.signal) {
        request.onAbort = () => {
          const index = this.queue.indexOf(request);
          if (index >= 0) {
            this.queue.splice(index, 1);
            fail('aborted', 'the call was aborted while waiting for a worker');
          }
        };
        options.signal.addEventListener('abort', request.onAbort, { once: true });
      }
      this.queue.push(request);
      this.dispatch();
    });
  }

  /** Terminates every worker. Queued calls resolve with `unavailable`. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const request of this.queue.splice(0)) {
      if (request.onAbort) request.signal?.removeEventListener('abort', request.onAbort);
      request.resolve(
        this.outcome({
          status: 'unavailable',
          stdout: '',
          stderr: '',
          message: 'the Python sandbox was closed',
          durationMs: 0,
        }),
      );
    }
    const terminations = [...this.slots].map((slot) => {
      slot.current?.finish('unavailable', 'the Python sandbox was closed');
      return slot.worker.terminate();
    });
    this.slots.clear();
    this.idle.length = 0;
    await Promise.allSettled(terminations);
  }

  private outcome(parts: Omit<CodeRunOutcome, 'stdoutLimit' | 'stderrLimit'>): CodeRunOutcome {
    return { ...parts, stdoutLimit: this.limits.stdoutLimit, stderrLimit: this.limits.stderrLimit };
  }

  private async warm(): Promise<void> {
    const started = performance.now();
    // The first worker makes (or reuses) the snapshot; the rest start from it in parallel.
    await this.startSlot();
    await Promise.all(Array.from({ length: this.limits.size - 1 }, () => this.startSlot()));
    this.stats.coldStartMs = performance.now() - started;
  }

  private async snapshotFor(): Promise<{ snapshot?: SharedArrayBuffer; makesSnapshot: boolean }> {
    const cached = snapshotCache.get(this.indexURL);
    if (cached) return { snapshot: await cached, makesSnapshot: false };
    return { makesSnapshot: true };
  }

  private async startSlot(): Promise<void> {
    const { snapshot, makesSnapshot } = await this.snapshotFor();
    let settleSnapshot: ((value: SharedArrayBuffer | undefined) => void) | undefined;
    if (makesSnapshot) {
      snapshotCache.set(this.indexURL, new Promise((resolve) => (settleSnapshot = resolve)));
    }
    const interrupt = new Int32Array(new SharedArrayBuffer(4));
    const workerData: PyodideWorkerData = {
      indexURL: this.indexURL,
      moduleURL: pathToFileURL(join(this.indexURL, 'pyodide.mjs')).href,
      snapshot,
      interrupt: interrupt.buffer as SharedArrayBuffer,
      wasmMemoryLimitBytes: this.limits.memoryLimitMb * 1024 * 1024,
      maxRecursionLimit: this.limits.maxRecursionLimit,
      exposedSource: pythonExposedSource,
      runnerSource: pythonRunnerSource,
    };
    const worker = new Worker(pyodideWorkerSource, {
      eval: true,
      workerData,
      // No host environment, no parent CLI flags or loaders, and no inherited stdio.
      env: {},
      argv: [],
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: this.limits.workerHeapLimitMb },
    });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.unref();
    this.stats.workersStarted += 1;
    const slot: Slot = { worker, interrupt, ready: false, calls: 0 };
    this.slots.add(slot);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: PyodideWorkerMessage) => {
        if (message.type === 'ready') {
          slot.ready = true;
          this.stats.networkAttempts += message.networkAttempts;
          if (settleSnapshot) {
            let shared: SharedArrayBuffer | undefined;
            if (message.snapshot) {
              shared = new SharedArrayBuffer(message.snapshot.byteLength);
              new Uint8Array(shared).set(message.snapshot);
            }
            settleSnapshot(shared);
          }
          worker.off('message', onMessage);
          this.attach(slot);
          resolve();
        } else if (message.type === 'failed') {
          worker.off('message', onMessage);
          reject(new Error(message.message));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`the Python worker exited with code ${code} while starting`)),
      );
    }).catch((error: unknown) => {
      this.slots.delete(slot);
      void worker.terminate();
      if (settleSnapshot) {
        snapshotCache.delete(this.indexURL);
        settleSnapshot(undefined);
      }
      const failure = error instanceof Error ? error : new Error(String(error));
      if (this.slots.size === 0 && !this.closed) {
        this.startupError = failure;
        this.drainWithError(failure);
      }
      throw failure;
    });
    if (this.closed) {
      this.slots.delete(slot);
      await worker.terminate();
    }
  }

  private drainWithError(error: Error): void {
    for (const request of this.queue.splice(0)) {
      if (request.onAbort) request.signal?.removeEventListener('abort', request.onAbort);
      request.resolve(
        this.outcome({
          status: 'unavailable',
          stdout: '',
          stderr: '',
          message: `the Python sandbox failed to start: ${error.message}`,
          durationMs: 0,
        }),
      );
    }
  }

  /** Wires a ready worker's result and crash handling, then offers it to the queue. */
  private attach(slot: Slot): void {
    slot.worker.on('message', (message: PyodideWorkerMessage) => {
      if (message.type === 'result' && slot.current?.id === message.id)
        slot.current.finish('raw', message.result);
    });
    slot.worker.on('error', (error: Error & { code?: string }) => {
      const status = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory-limit' : 'unavailable';
      const message =
        status === 'memory-limit'
          ? 'the Python worker ran out of memory; it was replaced'
          : `the Python worker crashed (${error.message}); it was replaced`;
      this.replace(slot);
      slot.current?.finish(status, message);
    });
    slot.worker.on('exit', () => {
      if (!this.slots.has(slot)) return;
      this.replace(slot);
      slot.current?.finish('unavailable', 'the Python worker exited; it was replaced');
    });
    this.release(slot);
  }

  private release(slot: Slot): void {
    if (!this.slots.has(slot) || this.closed) return;
    this.idle.push(slot);
    this.dispatch();
  }

  /** Terminates a worker and starts a replacement in the background. */
  private replace(slot: Slot): void {
    if (!this.slots.delete(slot)) return;
    const index = this.idle.indexOf(slot);
    if (index >= 0) this.idle.splice(index, 1);
    this.stats.workersReplaced += 1;
    void slot.worker.terminate();
    if (!this.closed) {
      this.startSlot().catch(() => {
        // Reported through startupError when no worker is left.
      });
    }
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.idle.length > 0) {
      const slot = this.idle.shift()!;
      const request = this.queue.shift()!;
      if (request.onAbort) request.signal?.removeEventListener('abort', request.onAbort);
      this.execute(slot, request);
    }
  }

  private execute(slot: Slot, request: RunRequest): void {
    const id = this.nextId++;
    const started = performance.now();
    let stopReason: 'timeout' | 'aborted' | undefined;
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    let replaced = false;
    const stop = (reason: 'timeout' | 'aborted') => {
      if (stopReason) return;
      stopReason = reason;
      Atomics.store(slot.interrupt, 0, 2);
      graceTimer = setTimeout(() => {
        // The code ignored the interrupt (a long C call, or it caught KeyboardInterrupt): kill the worker.
        replaced = true;
        this.replace(slot);
        slot.current?.finish(reason, '');
      }, this.limits.interruptGraceMs);
    };
    const timer = setTimeout(() => stop('timeout'), request.timeoutMs);
    const onAbort = () => stop('aborted');
    request.signal?.addEventListener('abort', onAbort, { once: true });

    slot.current = {
      id,
      finish: (status, payload) => {
        if (slot.current?.id !== id) return;
        slot.current = undefined;
        clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        request.signal?.removeEventListener('abort', onAbort);
        const durationMs = performance.now() - started;
        let outcome: CodeRunOutcome;
        if (status === 'raw') {
          const decoded = this.decode(payload, stopReason, request.timeoutMs, durationMs);
          outcome = decoded.outcome;
          if (decoded.replaceWorker) {
            replaced = true;
            this.replace(slot);
          }
        } else {
          const message =
            status === 'timeout'
              ? `the code ran longer than ${request.timeoutMs} ms and was stopped (its worker was replaced)`
              : status === 'aborted'
                ? 'the call was aborted (its worker was replaced)'
                : payload;
          outcome = this.outcome({ status, stdout: '', stderr: '', message, durationMs });
        }
        Atomics.store(slot.interrupt, 0, 0);
        slot.calls += 1;
        if (!replaced && this.limits.recycleAfterCalls > 0 && slot.calls >= this.limits.recycleAfterCalls) {
          replaced = true;
          this.replace(slot);
        }
        if (!replaced) this.release(slot);
        request.resolve(outcome);
      },
    };
    const message: PyodideWorkerRequest = {
      id,
      code: request.code,
      stdoutLimit: this.limits.stdoutLimit,
      stderrLimit: this.limits.stderrLimit,
      tracebackLines: this.limits.tracebackLines,
    };
    slot.worker.postMessage(message);
  }

  private decode(
    payload: string,
    stopReason: 'timeout' | 'aborted' | undefined,
    timeoutMs: number,
    durationMs: number,
  ): { outcome: CodeRunOutcome; replaceWorker: boolean } {
    const [status, stdout, stderr, message] = JSON.parse(payload) as [string, string, string, string];
    const parts = { stdout, stderr, durationMs };
    const keep = (outcome: Omit<CodeRunOutcome, 'stdoutLimit' | 'stderrLimit'>) => ({
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
