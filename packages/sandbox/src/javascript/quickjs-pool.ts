import { createRequire } from 'node:module';
import { parse } from '@arpo/core';
import type { CodeRunOutcome } from '../limits/code-result.js';
import {
  type DecodedResult,
  type OutcomeParts,
  type StopReason,
  WorkerPool,
  type WorkerPoolStats,
} from '../workers/worker-pool.js';
import { quickJsPoolConfigSchema } from './javascript-options.js';
import {
  type QuickJsWorkerData,
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
export type QuickJsPoolStats = WorkerPoolStats;

/** WebAssembly memory a worker may use beyond `memoryLimitMb`: QuickJS's data, stack and allocator overhead. */
const wasmOverheadBytes = 32 * 1024 * 1024;

/** Values the interrupt cell takes (read by the worker's interrupt handler). */
const interruptFor = { timeout: 1, aborted: 2 };

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
  private readonly limits: Required<QuickJsPoolOptions & QuickJsSandboxLimits>;
  private readonly modulePath: string;
  private readonly pool: WorkerPool<QuickJsWorkerResult>;

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
    const { limits } = this;
    const memoryLimitBytes = limits.memoryLimitMb * 1024 * 1024;
    this.pool = new WorkerPool<QuickJsWorkerResult>({
      size: limits.size,
      workerHeapLimitMb: limits.workerHeapLimitMb,
      interruptGraceMs: limits.interruptGraceMs,
      maxQueueLength: limits.maxQueueLength,
      recycleAfterCalls: limits.recycleAfterCalls,
      warm: 'together',
      interruptValue: interruptFor,
      stats: this.stats,
      texts: {
        closed: 'the JavaScript tool is closed',
        wasClosed: 'the JavaScript tool was closed',
        startFailed: (message) => `QuickJS failed to load: ${message}`,
        queueFull: (waiting) => `the JavaScript sandbox queue is full (${waiting} calls waiting)`,
        exitedWhileStarting: (code) => `the JavaScript worker exited with code ${code} while starting`,
        outOfMemory: `the JavaScript worker ran out of memory (its ${limits.workerHeapLimitMb} MiB heap); it was replaced`,
        crashed: (message) => `the JavaScript worker crashed (${message}); it was replaced`,
        exited: 'the JavaScript worker exited; it was replaced',
      },
      prepare: (interrupt) => {
        const workerData: QuickJsWorkerData = {
          modulePath: this.modulePath,
          interrupt,
          memoryLimitBytes,
          // Room for QuickJS's code, stack and allocator overhead on top of the runtime's cap.
          wasmMemoryLimitBytes: memoryLimitBytes + wasmOverheadBytes,
          maxStackBytes: limits.maxStackSizeKb * 1024,
          outputLimit: limits.outputLimit,
        };
        return { source: quickJsWorkerSource, workerData };
      },
      request: ({ id, code, timeoutMs }): QuickJsWorkerRequest => ({ id, code, timeoutMs }),
      decode: (result, call) => this.decode(result, call.stopReason, call.timeoutMs, call.durationMs),
      outcome: (parts) => this.outcome(parts),
    });
  }

  /** Resolves once every worker has loaded QuickJS; rejects if none can. */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  /** Runs `code` on the next free worker. Never rejects. */
  run(code: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<CodeRunOutcome> {
    return this.pool.run(code, options);
  }

  /** Terminates every worker. Queued and running calls resolve with `unavailable`. Idempotent. */
  close(): Promise<void> {
    return this.pool.close();
  }

  private outcome(parts: Omit<OutcomeParts, 'stderr'> & { stderr?: string }): CodeRunOutcome {
    return {
      ...parts,
      stderr: '',
      stdoutLimit: this.limits.outputLimit,
      stderrLimit: this.limits.outputLimit,
    };
  }

  private decode(
    [status, stdout, message]: QuickJsWorkerResult,
    stopReason: StopReason | undefined,
    timeoutMs: number,
    durationMs: number,
  ): DecodedResult {
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
