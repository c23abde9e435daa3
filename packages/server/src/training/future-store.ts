/** The outcome of a request, as `retrieve_future` reports it. */
export type FutureOutcome =
  | { state: 'pending' }
  | { state: 'done'; result: unknown }
  | { state: 'failed'; message: string };

interface Entry {
  outcome: FutureOutcome;
  waiters: Set<() => void>;
}

/**
 * Futures of queued requests: auto-increment ids (sent as strings), results kept until evicted (the oldest
 * completed ones beyond `maxCompleted`), and long-poll waiting with a timeout.
 */
export class FutureStore {
  private nextId = 1;
  private readonly entries = new Map<string, Entry>();
  private readonly completed: string[] = [];
  private readonly maxCompleted: number;

  constructor(options: { maxCompleted?: number } = {}) {
    this.maxCompleted = options.maxCompleted ?? 10_000;
  }

  create(): string {
    const id = String(this.nextId++);
    this.entries.set(id, { outcome: { state: 'pending' }, waiters: new Set() });
    return id;
  }

  private settle(id: string, outcome: FutureOutcome): void {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.outcome.state !== 'pending') return;
    entry.outcome = outcome;
    for (const wake of entry.waiters) wake();
    entry.waiters.clear();
    this.completed.push(id);
    while (this.completed.length > this.maxCompleted) this.entries.delete(this.completed.shift() as string);
  }

  complete(id: string, result: unknown): void {
    this.settle(id, { state: 'done', result });
  }

  fail(id: string, message: string): void {
    this.settle(id, { state: 'failed', message });
  }

  /** The outcome once settled; `pending` after `timeoutMs` or when `signal` aborts; undefined for unknown ids. */
  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<FutureOutcome | undefined> {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.outcome.state !== 'pending' || timeoutMs <= 0 || signal?.aborted) return entry.outcome;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        entry.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      entry.waiters.add(done);
    });
    return entry.outcome;
  }
}
