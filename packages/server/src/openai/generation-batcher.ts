import type { GenerationRequest, GenerationResult, Policy } from '@arpo/core';
import { OpenAiHttpError } from './openai-http-error.js';

interface Pending {
  request: GenerationRequest;
  resolve: (result: GenerationResult) => void;
  reject: (error: unknown) => void;
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
  submit(request: GenerationRequest): Promise<GenerationResult> {
    return this.submitAll([request]).then((results) => results[0] as GenerationResult);
  }

  /** Queues requests together (all or none): the prompts of one HTTP request. */
  submitAll(requests: readonly GenerationRequest[]): Promise<GenerationResult[]> {
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
      (request) =>
        new Promise<GenerationResult>((resolve, reject) => this.queue.push({ request, resolve, reject })),
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
      const size = next.request.n ?? 1;
      if (batch.length > 0 && sequences + size > this.options.maxBatch) break;
      batch.push(next);
      this.queue.shift();
      sequences += size;
    }
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
    try {
      const results = await this.policy.generate(batch.map((pending) => pending.request));
      for (const [index, pending] of batch.entries()) pending.resolve(results[index] as GenerationResult);
    } catch (error) {
      if (batch.length === 1) {
        (batch[0] as Pending).reject(error);
        return;
      }
      // One bad request must not fail the others: run them one by one.
      for (const pending of batch) {
        try {
          const [result] = await this.policy.generate([pending.request]);
          pending.resolve(result as GenerationResult);
        } catch (single) {
          pending.reject(single);
        }
      }
    }
  }
}
