import {
  AbortedError,
  type GeneratedTokenEvent,
  type GenerationRequest,
  type GenerationResult,
  type Policy,
} from '@arpo/core';
import { OpenAiHttpError } from './openai-http-error.js';

/** Receives the tokens of one submitted prompt as the policy samples them. */
export type SubmittedTokenListener = (promptIndex: number, event: GeneratedTokenEvent) => void;

/** Options of one `submitAll`. */
export interface SubmitOptions {
  /**
   * Called for each token of these prompts as it is decoded (`promptIndex` is the index into the submitted
   * requests; `event.requestIndex` is the row in the batch and means nothing to the caller). Exceptions are
   * caught and the listener is not called again, so one broken response cannot fail the batch it shares.
   */
  onToken?: SubmittedTokenListener;
  /**
   * The caller went away: queued prompts are dropped (rejecting with `AbortedError`); a running batch is aborted
   * once every request in it is cancelled (a policy's abort covers a whole `generate` call).
   */
  signal?: AbortSignal;
}

interface Pending {
  request: GenerationRequest;
  resolve: (result: GenerationResult) => void;
  reject: (error: unknown) => void;
  promptIndex: number;
  listener: SubmittedTokenListener | undefined;
  signal: AbortSignal | undefined;
  /** Tokens already handed to `listener`: such a request cannot be silently re-run. */
  reported: number;
}

/** Counters of the batcher, for `/metrics`-style reporting and the load benchmark. */
export interface BatcherStatistics {
  requests: number;
  batches: number;
  /** Sequences (sum of `n`) over all batches. */
  sequences: number;
  largestBatch: number;
  rejectedQueueFull: number;
}

/**
 * Gathers concurrent generation requests into batched `policy.generate` calls: requests arriving while a batch
 * runs form the next one (and the first request on an idle server waits `gatherWindowMs` for company), up to
 * `maxBatch` sequences per call. At most `maxQueue` requests wait; more are refused with 429. Results do not
 * depend on batch composition as long as every request carries a seed (the server gives each one a seed).
 */
export class GenerationBatcher {
  private readonly queue: Pending[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly counters: BatcherStatistics = {
    requests: 0,
    batches: 0,
    sequences: 0,
    largestBatch: 0,
    rejectedQueueFull: 0,
  };

  constructor(
    private readonly policy: Policy,
    private readonly options: { maxBatch: number; maxQueue: number; gatherWindowMs: number },
  ) {}

  /** Queues one request; rejects with a 429 `OpenAiHttpError` when the queue is full. */
  submit(request: GenerationRequest, options: SubmitOptions = {}): Promise<GenerationResult> {
    return this.submitAll([request], options).then((results) => results[0] as GenerationResult);
  }

  /**
   * Queues requests together (all or none): the prompts of one HTTP request. More prompts than `maxQueue` could
   * never fit, so they are a 400 naming the limit rather than a 429 that retries forever.
   */
  submitAll(
    requests: readonly GenerationRequest[],
    options: SubmitOptions = {},
  ): Promise<GenerationResult[]> {
    if (requests.length > this.options.maxQueue) {
      return Promise.reject(
        new OpenAiHttpError({
          status: 400,
          message: `the request has ${requests.length} prompts; this server queues at most ${this.options.maxQueue} (maxQueue): split it`,
          param: 'prompt',
          code: 'too_many_prompts',
        }),
      );
    }
    if (this.queue.length + requests.length > this.options.maxQueue) {
      this.counters.rejectedQueueFull++;
      return Promise.reject(
        new OpenAiHttpError({
          status: 429,
          message: `the server's queue is full (${this.options.maxQueue} waiting requests); retry later`,
          code: 'queue_full',
        }),
      );
    }
    const promises = requests.map(
      (request, promptIndex) =>
        new Promise<GenerationResult>((resolve, reject) =>
          this.queue.push({
            request,
            resolve,
            reject,
            promptIndex,
            listener: options.onToken,
            signal: options.signal,
            reported: 0,
          }),
        ),
    );
    this.counters.requests += requests.length;
    this.schedule();
    return Promise.all(promises);
  }

  get waiting(): number {
    return this.queue.length;
  }

  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  statistics(): BatcherStatistics {
    return { ...this.counters };
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private queuedSequences(): number {
    return this.queue.reduce((sum, pending) => sum + (pending.request.n ?? 1), 0);
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queuedSequences() >= this.options.maxBatch || this.options.gatherWindowMs <= 0) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.gatherWindowMs);
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let sequences = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (next.signal?.aborted) {
        this.queue.shift();
        next.reject(new AbortedError({ operation: 'queued generation', cause: next.signal.reason }));
        continue;
      }
      const size = next.request.n ?? 1;
      if (batch.length > 0 && sequences + size > this.options.maxBatch) break;
      batch.push(next);
      this.queue.shift();
      sequences += size;
    }
    if (batch.length === 0) return batch;
    this.counters.batches++;
    this.counters.sequences += sequences;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, sequences);
    return batch;
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    try {
      // Requests that arrive while a batch runs are gathered for the next one.
      while (this.queue.length > 0) await this.run(this.takeBatch());
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
      else for (const waiter of this.idleWaiters.splice(0)) waiter();
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      const results = await this.generate(batch);
      for (const [index, pending] of batch.entries()) pending.resolve(results[index] as GenerationResult);
    } catch (error) {
      if (batch.length === 1) {
        (batch[0] as Pending).reject(error);
        return;
      }
      // One bad request must not fail the others: run them one by one. Those whose tokens were already
      // streamed fail with the error instead, as their clients have seen part of an answer.
      for (const pending of batch) {
        if (pending.reported > 0) {
          pending.reject(error);
          continue;
        }
        try {
          const [result] = await this.generate([pending]);
          pending.resolve(result as GenerationResult);
        } catch (single) {
          pending.reject(single);
        }
      }
    }
  }

  /** One `policy.generate` over `batch`, routing token events to listeners and cancellations to an abort. */
  private async generate(batch: Pending[]): Promise<GenerationResult[]> {
    const requests = batch.map((pending) => pending.request);
    const streaming = batch.some((pending) => pending.listener !== undefined);
    const cancellable = batch.every((pending) => pending.signal !== undefined);
    if (!streaming && !cancellable) return this.policy.generate(requests);
    const controller = new AbortController();
    const cancelled = () => {
      if (batch.every((pending) => pending.signal?.aborted === true)) controller.abort();
    };
    if (cancellable) for (const pending of batch) pending.signal?.addEventListener('abort', cancelled);
    cancelled();
    const onToken = (event: GeneratedTokenEvent) => {
      const pending = batch[event.requestIndex];
      if (pending?.listener === undefined) return;
      pending.reported++;
      try {
        pending.listener(pending.promptIndex, event);
      } catch {
        pending.listener = undefined;
      }
    };
    try {
      return await this.policy.generate(requests, {
        ...(cancellable ? { signal: controller.signal } : {}),
        ...(streaming ? { onToken } : {}),
      });
    } finally {
      if (cancellable) for (const pending of batch) pending.signal?.removeEventListener('abort', cancelled);
    }
  }
}
