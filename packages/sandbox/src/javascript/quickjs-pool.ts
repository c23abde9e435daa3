import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { parse } from '@arpo/core';
import type { CodeRunOutcome, CodeRunStatus } from '../limits/code-result.js';
import { quickJsPoolConfigSchema } from './javascript-options.js';
import {
  type QuickJsWorkerData,
  type QuickJsWorkerMessage,
  type QuickJsWorkerRequest,
  type QuickJsWorkerResult,
  quickJsWorkerSource,
} from './quickjs-worker-source.js';

/** Sizing of a QuickJS worker pool. Every field has a default. */
export interface QuickJsPoolOptions {
  /** Worker threads, each with its own QuickJS instance; also the number of calls that run at once. Default 2. */
  size?: number;
  /** V8 heap cap of each worker thread (`resourceLimits.maxOldGenerationSizeMb`), in MiB. Default 64. */
  workerHeapLimitMb?: number;
  /**
   * How long interrupted code gets to stop before its worker is terminated and replaced (it may be inside one
   * long built-in call, which QuickJS's interrupt handler cannot stop). Default 250 ms.
   */
  interruptGraceMs?: number;
  /** Calls allowed to wait for a worker; more are refused with `unavailable`. Default unlimited. */
  maxQueueLength?: number;
  /** Replace a worker after this many calls (0 = never). Default 0. */
  recycleAfterCalls?: number;
}

/** Limits every call's QuickJS runtime gets. */
export interface QuickJsSandboxLimits {
  /**
   * Memory cap of each call, in MiB: QuickJS's runtime limit, and the worker's whole WebAssembly memory is capped
   * at this plus 32 MiB, which also bounds ArrayBuffer contents (QuickJS's own limit does not count them).
   * Default 64.
   */
  memoryLimitMb?: number;
  /** QuickJS stack cap, in KiB (deep recursion ends with a "stack overflow" error). Default 256. */
  maxStackSizeKb?: number;
  /** Characters of console output plus the final value kept; more ends the call with `output-limit`. Default 20 000. */
  outputLimit?: number;
}

/** Counters a pool keeps, for metrics and tests. */
export interface QuickJsPoolStats {
  /** Workers started, including replacements. */
  workersStarted: number;
  /** Workers terminated because of a timeout, an abort, an engine failure, a crash or recycling. */
  workersReplaced: number;
  /** Milliseconds from construction until every worker was ready (the pool's cold start). */
  coldStartMs: number | undefined;
}

interface RunRequest {
  code: string;
  timeoutMs: number;
  signal?: AbortSignal;
  resolve: (outcome: CodeRunOutcome) => void;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  interrupt: Int32Array;
  calls: number;
  current?: {
    id: number;
    finish: (status: CodeRunStatus | 'raw', payload: string, result?: QuickJsWorkerResult) => void;
  };
}

/** WebAssembly memory a worker may use beyond `memoryLimitMb`: QuickJS's data, stack and allocator overhead. */
const wasmOverheadBytes = 32 * 1024 * 1024;

/** Values the interrupt cell takes (read by the worker's interrupt handler). */
const interruptFor = { timeout: 1, aborted: 2 } as const;

function resolveQuickJsPath(): string {
  return createRequire(import.meta.url).resolve('quickjs-emscripten');
}

/**
 * A pool of worker threads, each with its own QuickJS WebAssembly instance. Calls queue and run one per worker,
 * each in a new QuickJS runtime and context. A call past its deadline is first interrupted from inside QuickJS
 * (its interrupt handler polls a shared cell); if the worker does not answer within `interruptGraceMs` (one long
 * built-in call, such as converting a huge BigInt to a string, never reaches the handler) the worker is
 * terminated and replaced, so the host's event loop is never held.
 */
export class QuickJsPool {
  readonly stats: QuickJsPoolStats = { workersStarted: 0, workersReplaced: 0, coldStartMs: undefined };
  private readonly slots = new Set<Slot>();
  private readonly queue: RunRequest[] = [];
  private readonly idle: Slot[] = [];
  private readonly limits: Required<QuickJsPoolOptions & QuickJsSandboxLimits>;
  private readonly modulePath: string;
  private nextId = 1;
  private closed = false;
  private readonly started: Promise<void>;
  private startupError: Error | undefined;

  /** Throws a `ValidationError` naming every bad option. The workers start warming at once. */
  constructor(options: QuickJsPoolOptions & QuickJsSandboxLimits = {}) {
    const valid = parse(quickJsPoolConfigSchema, options);
    this.limits = {
      size: valid.size ?? 2,
      workerHeapLimitMb: valid.workerHeapLimitMb ?? 64,
      interruptGraceMs: valid.interruptGraceMs ?? 250,
      maxQueueLength: valid.maxQueueLength ?? Number.POSITIVE_INFINITY,
      recycleAfterCalls: valid.recycleAfterCalls ?? 0,
      memoryLimitMb: valid.memoryLimitMb ?? 64,
      maxStackSizeKb: valid.maxStackSizeKb ?? 256,
      outputLimit: valid.outputLimit ?? 20_000,
    };
    this.modulePath = resolveQuickJsPath();
    this.started = this.warm();
    // Callers see startup failures through `ready()` or as `unavailable` results.
    this.started.catch(() => {});
  }

  /** Resolves once every worker has loaded QuickJS; rejects if none can. */
  ready(): Promise<void> {
    return this.started;
  }

  /** Runs `code` on the next free worker. Never rejects. */
  run(code: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<CodeRunOutcome> {
    return new Promise((resolve) => {
      const fail = (status: CodeRunStatus, message: string) =>
        resolve(this.outcome({ status, stdout: '', message, durationMs: 0 }));
      if (options.signal?.aborted) return fail('aborted', 'the call was aborted before it started');
      if (this.closed) return fail('unavailable', 'the JavaScript tool is closed');
      if (this.startupError)
        return fail('unavailable', `QuickJS failed to load: ${this.startupError.message}`);
      if (this.queue.length >= this.limits.maxQueueLength && this.idle.length === 0) {
        return fail(
          'unavailable',
          `the JavaScript sandbox queue is full (${this.limits.maxQueueLength} calls waiting)`,
        );
      }
      const request: RunRequest = { code, timeoutMs: options.timeoutMs, signal: options.signal, resolve };
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

  /** Terminates every worker. Queued and running calls resolve with `unavailable`. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const request of this.queue.splice(0)) {
      if (request.onAbort) request.signal?.removeEventListener('abort', request.onAbort);
      request.resolve(
        this.outcome({
          status: 'unavailable',
          stdout: '',
          message: 'the JavaScript tool was closed',
          durationMs: 0,
        }),
      );
    }
    const terminations = [...this.slots].map((slot) => {
      slot.current?.finish('unavailable', 'the JavaScript tool was closed');
      return slot.worker.terminate();
    });
    this.slots.clear();
    this.idle.length = 0;
    await Promise.allSettled(terminations);
  }

  private outcome(parts: Omit<CodeRunOutcome, 'stdoutLimit' | 'stderrLimit' | 'stderr'>): CodeRunOutcome {
    return {
      ...parts,
      stderr: '',
      stdoutLimit: this.limits.outputLimit,
      stderrLimit: this.limits.outputLimit,
    };
  }

  private async warm(): Promise<void> {
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: this.limits.size }, () => this.startSlot()),
    );
    const failure = results.find((result) => result.status === 'rejected');
    if (failure && this.slots.size === 0) throw (failure as PromiseRejectedResult).reason;
    this.stats.coldStartMs = performance.now() - started;
  }

  private async startSlot(): Promise<void> {
    const interrupt = new Int32Array(new SharedArrayBuffer(4));
    const memoryLimitBytes = this.limits.memoryLimitMb * 1024 * 1024;
    const workerData: QuickJsWorkerData = {
      modulePath: this.modulePath,
      interrupt: interrupt.buffer as SharedArrayBuffer,
      memoryLimitBytes,
      // Room for QuickJS's code, stack and allocator overhead on top of the runtime's cap.
      wasmMemoryLimitBytes: memoryLimitBytes + wasmOverheadBytes,
      maxStackBytes: this.limits.maxStackSizeKb * 1024,
      outputLimit: this.limits.outputLimit,
    };
    const worker = new Worker(quickJsWorkerSource, {
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
    const slot: Slot = { worker, interrupt, calls: 0 };
    this.slots.add(slot);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: QuickJsWorkerMessage) => {
        if (message.type === 'ready') {
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
        reject(new Error(`the JavaScript worker exited with code ${code} while starting`)),
      );
    }).catch((error: unknown) => {
      this.slots.delete(slot);
      void worker.terminate();
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
          message: `QuickJS failed to load: ${error.message}`,
          durationMs: 0,
        }),
      );
    }
  }

  /** Wires a ready worker's result and crash handling, then offers it to the queue. */
  private attach(slot: Slot): void {
    slot.worker.on('message', (message: QuickJsWorkerMessage) => {
      if (message.type === 'result' && slot.current?.id === message.id)
        slot.current.finish('raw', '', message.result);
    });
    slot.worker.on('error', (error: Error & { code?: string }) => {
      const status = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory-limit' : 'unavailable';
      const message =
        status === 'memory-limit'
          ? `the JavaScript worker ran out of memory (its ${this.limits.workerHeapLimitMb} MiB heap); it was replaced`
          : `the JavaScript worker crashed (${error.message}); it was replaced`;
      this.replace(slot);
      slot.current?.finish(status, message);
    });
    slot.worker.on('exit', () => {
      if (!this.slots.has(slot)) return;
      this.replace(slot);
      slot.current?.finish('unavailable', 'the JavaScript worker exited; it was replaced');
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
      Atomics.store(slot.interrupt, 0, interruptFor[reason]);
      graceTimer = setTimeout(() => {
        // The worker did not get back to the interrupt handler in time (one long built-in call): kill it.
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
      finish: (status, payload, result) => {
        if (slot.current?.id !== id) return;
        slot.current = undefined;
        clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        request.signal?.removeEventListener('abort', onAbort);
        const durationMs = performance.now() - started;
        let outcome: CodeRunOutcome;
        if (status === 'raw' && result) {
          const decoded = this.decode(result, stopReason, request.timeoutMs, durationMs);
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
          outcome = this.outcome({
            status: status === 'raw' ? 'error' : status,
            stdout: '',
            message,
            durationMs,
          });
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
    const message: QuickJsWorkerRequest = { id, code: request.code, timeoutMs: request.timeoutMs };
    slot.worker.postMessage(message);
  }

  private decode(
    [status, stdout, message]: QuickJsWorkerResult,
    stopReason: 'timeout' | 'aborted' | undefined,
    timeoutMs: number,
    durationMs: number,
  ): { outcome: CodeRunOutcome; replaceWorker: boolean } {
    const keep = (parts: Pick<CodeRunOutcome, 'status' | 'message'>) => ({
      outcome: this.outcome({ ...parts, stdout, durationMs }),
      replaceWorker: false,
    });
    switch (status) {
      case 'ok':
      case 'output-limit':
      case 'error':
        return keep({ status, message });
      case 'memory-limit':
        // WebAssembly memory never shrinks: a worker that hit the cap is replaced, so it gives the memory back.
        return {
          outcome: this.outcome({
            status,
            stdout,
            message: `${message}: the code exceeded the ${this.limits.memoryLimitMb} MiB memory cap (its worker was replaced)`,
            durationMs,
          }),
          replaceWorker: true,
        };
      case 'timeout':
      case 'aborted':
        // The host's reason wins: an abort that raced the worker's own deadline check is still an abort.
        if ((stopReason ?? status) === 'aborted')
          return keep({ status: 'aborted', message: 'the call was aborted' });
        return keep({
          status: 'timeout',
          message: `the code ran longer than ${timeoutMs} ms and was stopped`,
        });
      case 'fatal':
        return {
          outcome: this.outcome({
            status: 'error',
            stdout,
            message: `the JavaScript engine failed (${message}); its worker was replaced`,
            durationMs,
          }),
          replaceWorker: true,
        };
    }
  }
}
