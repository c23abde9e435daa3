import { AbortedError, type LazySchema, parse, ValidationError } from '@arpo/core';
import { RemoteTrainingError } from './remote-training-error.js';
import { tinkerFutureResponseSchema } from './tinker-wire.js';

export interface TinkerHttpClientOptions {
  /** Server root, for example `http://127.0.0.1:8000` (endpoints are under `/api/v1/`). */
  baseUrl: string;
  /** Sent as `X-API-Key`. SkyRL checks none; the hosted service wants `tml-…`. Default `tml-dummy`. */
  apiKey?: string;
  /** Retries of one HTTP call on retryable failures (429, 5xx, connection errors, timeouts). Default 5. */
  maxRetries?: number;
  /** First backoff delay; doubles per retry up to `maxRetryDelayMs`. Default 200. */
  retryDelayMs?: number;
  /** Default 30 000 (the SDK's cap). */
  maxRetryDelayMs?: number;
  /** Client-side timeout of one HTTP request (not of a long poll). Default 60 000. */
  requestTimeoutMs?: number;
  /** Client-side timeout of one `retrieve_future` long poll; a timed-out poll is simply repeated. Default 45 000. */
  pollTimeoutMs?: number;
}

interface HttpAnswer {
  status: number;
  body: unknown;
}

/** No answer arrived within the client-side timeout. */
const timedOut = { status: 0, body: undefined, timedOut: true } as const;
type Exchange = HttpAnswer | typeof timedOut;

/** What `call` returns for a 409 its `acceptConflict` accepted. */
export const conflictAccepted: unique symbol = Symbol('conflict accepted');

const retryableStatuses = new Set([408, 425, 429, 500, 502, 503, 504]);

function detailOf(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const record = body as Record<string, unknown>;
  const detail = record.detail ?? record.error;
  if (typeof detail === 'string') return detail;
  if (detail !== undefined) return JSON.stringify(detail);
  return undefined;
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError({ operation: 'remote training request' }));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError({ operation: 'remote training request' }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * JSON over HTTP to a Tinker-style training server: retries with exponential backoff on retryable failures (the
 * SDK's policy: 408/5xx/429/connection errors, a bare 400 without a JSON `detail` up to 3 times since proxies
 * inject them), and futures polled through `retrieve_future` until they resolve (408 and `try_again` mean
 * "poll again"). Never advertises protobuf, so every answer is JSON.
 */
export class TinkerHttpClient {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly requestTimeoutMs: number;
  private readonly pollTimeoutMs: number;

  constructor(options: TinkerHttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey ?? 'tml-dummy';
    this.maxRetries = options.maxRetries ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.pollTimeoutMs = options.pollTimeoutMs ?? 45_000;
  }

  private url(path: string): string {
    return `${this.baseUrl}/api/v1/${path}`;
  }

  /** One HTTP exchange, no retries. Throws a retryable RemoteTrainingError when the connection failed. */
  private async exchange(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    options: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<Exchange> {
    const endpoint = this.url(path);
    if (options.signal?.aborted) throw new AbortedError({ operation: `${method} ${path}` });
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    let response: Response;
    let text: string;
    try {
      response = await fetch(endpoint, {
        method,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'x-api-key': this.apiKey,
        },
        ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
        signal,
      });
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError({ operation: `${method} ${path}`, cause: error });
      if (timeout.aborted) return timedOut;
      throw new RemoteTrainingError({
        endpoint,
        message: `connection failed (${String(error)})`,
        isRetryable: true,
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed };
  }

  private backoff(attempt: number): number {
    return Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** attempt);
  }

  /**
   * Sends a request and returns the 2xx body, retrying retryable failures. `acceptConflict` may turn a 409 into
   * `conflictAccepted` (a checkpoint save retried after its first attempt's answer was lost: the name exists
   * because that attempt succeeded).
   */
  async call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    options: { signal?: AbortSignal; acceptConflict?: (attempt: number) => boolean } = {},
  ): Promise<unknown> {
    const endpoint = this.url(path);
    let bareBadRequests = 0;
    for (let attempt = 0; ; attempt++) {
      let answer: Exchange;
      try {
        answer = await this.exchange(method, path, body, {
          timeoutMs: this.requestTimeoutMs,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        if ('timedOut' in answer) {
          throw new RemoteTrainingError({
            endpoint,
            message: `no answer within ${this.requestTimeoutMs} ms`,
            isRetryable: true,
          });
        }
      } catch (error) {
        if (RemoteTrainingError.isInstance(error) && error.isRetryable && attempt < this.maxRetries) {
          await delay(this.backoff(attempt), options.signal);
          continue;
        }
        throw error;
      }
      if (answer.status >= 200 && answer.status < 300) return answer.body;
      const detail = detailOf(answer.body);
      if (answer.status === 409 && options.acceptConflict?.(attempt) === true) return conflictAccepted;
      const retryable = retryableStatuses.has(answer.status);
      const bareBadRequest = answer.status === 400 && detail === undefined && bareBadRequests < 3;
      if ((retryable || bareBadRequest) && attempt < this.maxRetries) {
        if (bareBadRequest) bareBadRequests++;
        await delay(answer.status === 408 ? 0 : this.backoff(attempt), options.signal);
        continue;
      }
      throw new RemoteTrainingError({
        endpoint,
        status: answer.status,
        ...(detail === undefined ? {} : { detail }),
        message: detail ?? 'request failed without a detail',
        isRetryable: retryable,
      });
    }
  }

  /** GET or POST and validate the answer. */
  async callParsed<T>(
    schema: LazySchema<T>,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const answer = await this.call(method, path, body, options);
    return this.parseAnswer(schema, answer, path);
  }

  private parseAnswer<T>(schema: LazySchema<T>, answer: unknown, path: string): T {
    try {
      return parse(schema, answer, { source: this.url(path) });
    } catch (error) {
      if (!ValidationError.isInstance(error)) throw error;
      throw new RemoteTrainingError({
        endpoint: this.url(path),
        message: `unexpected answer: ${error.message}`,
        isRetryable: false,
        cause: error,
      });
    }
  }

  /** POSTs a state-changing request; returns the future's `request_id` (undefined for an accepted 409). */
  async submit(path: string, body: unknown, options?: { signal?: AbortSignal }): Promise<string>;
  async submit(
    path: string,
    body: unknown,
    options: { signal?: AbortSignal; acceptConflict: (attempt: number) => boolean },
  ): Promise<string | undefined>;
  async submit(
    path: string,
    body: unknown,
    options: { signal?: AbortSignal; acceptConflict?: (attempt: number) => boolean } = {},
  ): Promise<string | undefined> {
    const answer = await this.call('POST', path, body, options);
    if (answer === conflictAccepted) return undefined;
    return this.parseAnswer(tinkerFutureResponseSchema, answer, path).request_id;
  }

  /**
   * Polls `retrieve_future` until the request completes: 408, `try_again` and client-side poll timeouts poll
   * again; 5xx, 429 and connection errors back off (consecutive failures bounded by `maxRetries`); an error
   * result (`400 {detail}`, `200 {error}`) or an unknown id throws.
   */
  async retrieve<T>(
    schema: LazySchema<T>,
    requestId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const path = 'retrieve_future';
    const endpoint = this.url(path);
    let failures = 0;
    for (;;) {
      let answer: Exchange;
      try {
        answer = await this.exchange(
          'POST',
          path,
          { request_id: requestId },
          {
            timeoutMs: this.pollTimeoutMs,
            ...(options.signal === undefined ? {} : { signal: options.signal }),
          },
        );
      } catch (error) {
        if (!RemoteTrainingError.isInstance(error)) throw error;
        if (failures < this.maxRetries) {
          await delay(this.backoff(failures++), options.signal);
          continue;
        }
        throw error;
      }
      // A poll that timed out on our side is a normal long poll: ask again.
      if ('timedOut' in answer) continue;
      const body = answer.body as Record<string, unknown> | undefined;
      if (answer.status === 200) {
        if (body?.type === 'try_again') continue;
        if (typeof body?.error === 'string' && body.category !== undefined) {
          throw new RemoteTrainingError({
            endpoint,
            status: 200,
            detail: body.error,
            message: `request ${requestId} failed: ${body.error}`,
            isRetryable: false,
          });
        }
        return this.parseAnswer(schema, answer.body, path);
      }
      if (answer.status === 408) {
        failures = 0;
        continue;
      }
      const detail = detailOf(answer.body);
      if ((answer.status >= 500 || answer.status === 429) && failures < this.maxRetries) {
        await delay(this.backoff(failures++), options.signal);
        continue;
      }
      throw new RemoteTrainingError({
        endpoint,
        status: answer.status,
        ...(detail === undefined ? {} : { detail }),
        message: `request ${requestId} failed: ${detail ?? 'no detail'}`,
        // 410: the server lost the promise; resubmitting the request may succeed.
        isRetryable: answer.status === 410 || answer.status >= 500 || answer.status === 429,
      });
    }
  }

  /** Submits and waits for the result. */
  async run<T>(
    schema: LazySchema<T>,
    path: string,
    body: unknown,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const requestId = await this.submit(path, body, options);
    return this.retrieve(schema, requestId, options);
  }
}
