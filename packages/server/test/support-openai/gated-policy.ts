import type {
  GeneratedTokenEvent,
  GenerateOptions,
  GenerationRequest,
  GenerationResult,
  Policy,
} from '@arpo/core';

/**
 * Wraps a real policy to watch and pace its decoding: counts the token events it produces and, when `pauseAfter`
 * is set, holds the decode loop of its first `generate` call after that many tokens of a row until `release()`
 * is called (or, with `untilAborted`, until the call's signal aborts). A server that only wrote chunks after generation would never
 * let a client see those tokens while paused, so tests that wait for them would hang instead of passing.
 */
export class GatedPolicy implements Policy {
  readonly events: GeneratedTokenEvent[] = [];
  readonly results: GenerationResult[][] = [];
  calls = 0;
  running = 0;
  private gate: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    private readonly inner: Policy,
    private readonly pacing: { pauseAfter?: number; untilAborted?: boolean } = {},
  ) {}

  get id() {
    return this.inner.id;
  }
  get tokenizer() {
    return this.inner.tokenizer;
  }
  get vocabularySize() {
    return this.inner.vocabularySize;
  }
  get contextLength() {
    return this.inner.contextLength;
  }
  get capabilities() {
    return this.inner.capabilities;
  }

  /** Lets a paused decode loop go on. */
  release(): void {
    this.gate?.resolve();
  }

  async generate(requests: readonly GenerationRequest[], options: GenerateOptions = {}) {
    this.calls++;
    this.running++;
    const paced = this.calls === 1;
    let resolve = () => {};
    const promise = new Promise<void>((done) => {
      resolve = done;
    });
    this.gate = { promise, resolve };
    if (this.pacing.untilAborted) options.signal?.addEventListener('abort', resolve);
    try {
      const results = await this.inner.generate(requests, {
        ...options,
        onToken: (event) => {
          this.events.push(event);
          options.onToken?.(event);
          if (paced && event.position + 1 === this.pacing.pauseAfter) return promise;
        },
      });
      this.results.push(results);
      return results;
    } finally {
      this.running--;
    }
  }

  close = () => this.inner.close?.() ?? Promise.resolve();
}
