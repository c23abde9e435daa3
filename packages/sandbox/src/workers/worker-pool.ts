import { Worker } from 'node:worker_threads';
import type { CodeRunOutcome, CodeRunStatus } from '../limits/code-result.js';

/** Counters every worker pool keeps. */
export interface WorkerPoolStats {
  /** Workers started, including replacements. */
  workersStarted: number;
  /** Workers terminated because of a timeout, an abort, a memory cap, a crash or recycling. */
  workersReplaced: number;
  /** Milliseconds from construction until every worker was ready (the pool's cold start). */
  coldStartMs: number | undefined;
}

/** How to start one worker thread, returned by `WorkerPoolSettings.prepare`. */
export interface WorkerLaunch {
  /** The worker's script, run with `eval: true`. */
  source: string;
  workerData: unknown;
  /** Called with the worker's `ready` message, before it takes calls. */
  onReady?: (message: { type: 'ready' }) => void;
  /** Called when the worker failed to start. */
  onStartFailed?: () => void;
  /** Sees every message the worker sends, for the whole of its life. */
  onMessage?: (message: { type: string }) => void;
}

/** What a worker's result decodes to. */
export interface DecodedResult {
  outcome: CodeRunOutcome;
  /** The worker must not run another call (WebAssembly memory that hit its cap never shrinks, say). */
  replaceWorker: boolean;
}

/** Why the pool stopped a call. */
export type StopReason = 'timeout' | 'aborted';

/** The parts of a call's outcome the pool builds itself; the settings add the output limits. */
export type OutcomeParts = Pick<CodeRunOutcome, 'status' | 'stdout' | 'stderr' | 'message' | 'durationMs'>;

/** What makes a pool of one kind of worker (Pyodide, QuickJS): its sizing, scripts, messages and decoding. */
export interface WorkerPoolSettings<Result> {
  size: number;
  workerHeapLimitMb: number;
  interruptGraceMs: number;
  maxQueueLength: number;
  recycleAfterCalls: number;
  /**
   * `first-alone` starts one worker, then the rest in parallel, failing if any fails (the first makes a snapshot
   * the others start from); `together` starts all at once and fails only if none starts.
   */
  warm: 'first-alone' | 'together';
  /** The value written to the shared interrupt cell for each stop reason. */
  interruptValue: Record<StopReason, number>;
  /** Shared with the owner, which may keep more counters in the same object. */
  stats: WorkerPoolStats;
  /** Messages that name the sandbox. */
  texts: {
    closed: string;
    wasClosed: string;
    startFailed: (message: string) => string;
    queueFull: (waiting: number) => string;
    exitedWhileStarting: (code: number) => string;
    outOfMemory: string;
    crashed: (message: string) => string;
    exited: string;
  };
  prepare: (interrupt: SharedArrayBuffer) => WorkerLaunch | Promise<WorkerLaunch>;
  /** The message that asks a worker to run `code`. */
  request: (call: { id: number; code: string; timeoutMs: number }) => unknown;
  decode: (
    result: Result,
    call: { stopReason: StopReason | undefined; timeoutMs: number; durationMs: number },
  ) => DecodedResult;
  outcome: (parts: OutcomeParts) => CodeRunOutcome;
}

interface RunRequest {
  code: string;
  timeoutMs: number;
  signal?: AbortSignal;
  resolve: (outcome: CodeRunOutcome) => void;
  onAbort?: () => void;
}

type Finish<Result> = (end: { result: Result } | { status: CodeRunStatus; message: string }) => void;

interface Slot<Result> {
  worker: Worker;
  interrupt: Int32Array;
  calls: number;
  current?: { id: number; finish: Finish<Result> };
}

interface WorkerMessage<Result> {
  type: string;
  id?: number;
  result?: Result;
  message?: string;
}

/**
 * The mechanics Pyodide and QuickJS pools share: worker slots, a FIFO queue under a concurrency limit, dispatch,
 * the timeout that first interrupts through a shared cell and then terminates and replaces a worker that does not
 * answer within the grace, abort signals, crash handling and recycling.
 */
export class WorkerPool<Result> {
  private readonly slots = new Set<Slot<Result>>();
  private readonly queue: RunRequest[] = [];
  private readonly idle: Slot<Result>[] = [];
  private nextId = 1;
  private closed = false;
  private readonly started: Promise<void>;
  private startupError: Error | undefined;

  constructor(private readonly settings: WorkerPoolSettings<Result>) {
    this.started = this.warm();
    // Callers see startup failures through `ready()` or as `unavailable` results.
    this.started.catch(() => {});
  }

  /** Resolves once every worker is ready; rejects if the workers cannot start. */
  ready(): Promise<void> {
    return this.started;
  }

  /** Runs `code` on the next free worker. Never rejects. */
  run(code: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<CodeRunOutcome> {
    const { texts, maxQueueLength } = this.settings;
    return new Promise((resolve) => {
      const fail = (status: CodeRunStatus, message: string) => resolve(this.failure(status, message));
      if (options.signal?.aborted) return fail('aborted', 'the call was aborted before it started');
      if (this.closed) return fail('unavailable', texts.closed);
      if (this.startupError) return fail('unavailable', texts.startFailed(this.startupError.message));
      if (this.queue.length >= maxQueueLength && this.idle.length === 0) {
        return fail('unavailable', texts.queueFull(maxQueueLength));
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
    this.drain(this.settings.texts.wasClosed);
    const terminations = [...this.slots].map((slot) => {
      slot.current?.finish({ status: 'unavailable', message: this.settings.texts.wasClosed });
      return slot.worker.terminate();
    });
    this.slots.clear();
    this.idle.length = 0;
    await Promise.allSettled(terminations);
  }

  private failure(status: CodeRunStatus, message: string): CodeRunOutcome {
    return this.settings.outcome({ status, stdout: '', stderr: '', message, durationMs: 0 });
  }

  private drain(message: string): void {
    for (const request of this.queue.splice(0)) {
      if (request.onAbort) request.signal?.removeEventListener('abort', request.onAbort);
      request.resolve(this.failure('unavailable', message));
    }
  }

  private async warm(): Promise<void> {
    const started = performance.now();
    const { size } = this.settings;
    if (this.settings.warm === 'first-alone') {
      await this.startSlot();
      await Promise.all(Array.from({ length: size - 1 }, () => this.startSlot()));
    } else {
      const results = await Promise.allSettled(Array.from({ length: size }, () => this.startSlot()));
      const failure = results.find((result) => result.status === 'rejected');
      if (failure && this.slots.size === 0) throw (failure as PromiseRejectedResult).reason;
    }
    this.settings.stats.coldStartMs = performance.now() - started;
  }

  private async startSlot(): Promise<void> {
    const interrupt = new Int32Array(new SharedArrayBuffer(4));
    const launch = await this.settings.prepare(interrupt.buffer as SharedArrayBuffer);
    const worker = new Worker(launch.source, {
      eval: true,
      workerData: launch.workerData,
      // No host environment, no parent CLI flags or loaders, and no inherited stdio.
      env: {},
      argv: [],
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: this.settings.workerHeapLimitMb },
    });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.unref();
    if (launch.onMessage) worker.on('message', launch.onMessage);
    this.settings.stats.workersStarted += 1;
    const slot: Slot<Result> = { worker, interrupt, calls: 0 };
    this.slots.add(slot);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: WorkerMessage<Result>) => {
        if (message.type === 'ready') {
          worker.off('message', onMessage);
          launch.onReady?.({ ...message, type: 'ready' });
          this.attach(slot);
          resolve();
        } else if (message.type === 'failed') {
          worker.off('message', onMessage);
          reject(new Error(message.message));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(this.settings.texts.exitedWhileStarting(code))));
    }).catch((error: unknown) => {
      this.slots.delete(slot);
      void worker.terminate();
      launch.onStartFailed?.();
      const failure = error instanceof Error ? error : new Error(String(error));
      if (this.slots.size === 0 && !this.closed) {
        this.startupError = failure;
        this.drain(this.settings.texts.startFailed(failure.message));
      }
      throw failure;
    });
    if (this.closed) {
      this.slots.delete(slot);
      await worker.terminate();
    }
  }

  /** Wires a ready worker's result and crash handling, then offers it to the queue. */
  private attach(slot: Slot<Result>): void {
    const { texts } = this.settings;
    slot.worker.on('message', (message: WorkerMessage<Result>) => {
      if (message.type === 'result' && slot.current?.id === message.id)
        slot.current?.finish({ result: message.result as Result });
    });
    slot.worker.on('error', (error: Error & { code?: string }) => {
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.replace(slot);
      slot.current?.finish(
        outOfMemory
          ? { status: 'memory-limit', message: texts.outOfMemory }
          : { status: 'unavailable', message: texts.crashed(error.message) },
      );
    });
    slot.worker.on('exit', () => {
      if (!this.slots.has(slot)) return;
      this.replace(slot);
      slot.current?.finish({ status: 'unavailable', message: texts.exited });
    });
    this.release(slot);
  }

  private release(slot: Slot<Result>): void {
    if (!this.slots.has(slot) || this.closed) return;
    this.idle.push(slot);
    this.dispatch();
  }

  /** Terminates a worker and starts a replacement in the background. */
  private replace(slot: Slot<Result>): void {
    if (!this.slots.delete(slot)) return;
    const index = this.idle.indexOf(slot);
    if (index >= 0) this.idle.splice(index, 1);
    this.settings.stats.workersReplaced += 1;
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

  private execute(slot: Slot<Result>, request: RunRequest): void {
    const { settings } = this;
    const id = this.nextId++;
    const started = performance.now();
    let stopReason: StopReason | undefined;
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    let replaced = false;
    const stop = (reason: StopReason) => {
      if (stopReason) return;
      stopReason = reason;
      Atomics.store(slot.interrupt, 0, settings.interruptValue[reason]);
      graceTimer = setTimeout(() => {
        // The code did not stop in time (one long native call, or it caught the interrupt): kill the worker.
        replaced = true;
        this.replace(slot);
        slot.current?.finish({ status: reason, message: '' });
      }, settings.interruptGraceMs);
    };
    const timer = setTimeout(() => stop('timeout'), request.timeoutMs);
    const onAbort = () => stop('aborted');
    request.signal?.addEventListener('abort', onAbort, { once: true });

    slot.current = {
      id,
      finish: (end) => {
        if (slot.current?.id !== id) return;
        slot.current = undefined;
        clearTimeout(timer);
        if (graceTimer) clearTimeout(graceTimer);
        request.signal?.removeEventListener('abort', onAbort);
        const durationMs = performance.now() - started;
        let outcome: CodeRunOutcome;
        if ('result' in end) {
          const decoded = settings.decode(end.result, {
            stopReason,
            timeoutMs: request.timeoutMs,
            durationMs,
          });
          outcome = decoded.outcome;
          if (decoded.replaceWorker) {
            replaced = true;
            this.replace(slot);
          }
        } else {
          const message =
            end.status === 'timeout'
              ? `the code ran longer than ${request.timeoutMs} ms and was stopped (its worker was replaced)`
              : end.status === 'aborted'
                ? 'the call was aborted (its worker was replaced)'
                : end.message;
          outcome = settings.outcome({ status: end.status, stdout: '', stderr: '', message, durationMs });
        }
        Atomics.store(slot.interrupt, 0, 0);
        slot.calls += 1;
        if (!replaced && settings.recycleAfterCalls > 0 && slot.calls >= settings.recycleAfterCalls) {
          replaced = true;
          this.replace(slot);
        }
        if (!replaced) this.release(slot);
        request.resolve(outcome);
      },
    };
    slot.worker.postMessage(settings.request({ id, code: request.code, timeoutMs: request.timeoutMs }));
  }
}
