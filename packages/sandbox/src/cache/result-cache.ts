import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  InvalidArgumentError,
  type Tool,
  type ToolErrorInfo,
  type ToolExecuteOptions,
  type ToolResult,
  toolFailure,
} from '@arpo/core';
import { canonicalJson } from './canonical-json.js';
import { LruMap } from './lru-map.js';

export interface ResultCacheOptions {
  /** Most results kept; the least recently used is evicted. Default 10 000. */
  maxEntries?: number;
  /**
   * A JSON Lines file to load at first use and write on `flush()` and `close()` (one `{"key", "result"}` object a
   * line, least recently used first). Written atomically: a temporary file in the same directory, then a rename.
   * One file per cached tool; the last process to write wins.
   */
  file?: string;
  /** Also write the file after this many new results (0: only on `flush`/`close`). Default 0. */
  flushEvery?: number;
  /**
   * Whether failed results are cached: `false` (default), `true`, or a predicate. `aborted` results are never
   * cached; `timeout` and `unavailable` only when the predicate says so (they are usually transient).
   */
  cacheErrors?: boolean | ((error: ToolErrorInfo) => boolean);
}

export interface ResultCacheStats {
  hits: number;
  misses: number;
  /** Calls that joined an identical call already running instead of running again. */
  joined: number;
  /** Calls whose input has no canonical JSON form (they bypass the cache). */
  uncacheable: number;
  size: number;
  evictions: number;
  /** Lines of the cache file that could not be read and were skipped. */
  skippedLines: number;
}

/** A tool wrapped with an exact-match result cache. */
export interface CachedTool<Input = unknown> extends Tool<Input> {
  stats(): ResultCacheStats;
  /** Loads the cache file now (otherwise done by the first call). */
  load(): Promise<void>;
  /** Writes the cache file, if any. */
  flush(): Promise<void>;
  /** Forgets every cached result (the file is rewritten empty on the next flush). */
  clear(): void;
}

const neverCachedByDefault = new Set(['timeout', 'unavailable']);

function isResult(value: unknown): value is ToolResult {
  if (value === null || typeof value !== 'object') return false;
  const result = value as Record<string, unknown>;
  if (result.ok === true) return typeof result.output === 'string';
  if (result.ok === false) {
    const error = result.error as Record<string, unknown> | null;
    return (
      error !== null &&
      typeof error === 'object' &&
      typeof error.code === 'string' &&
      typeof error.message === 'string'
    );
  }
  return false;
}

/**
 * Wraps `tool` with an exact-match cache keyed by the tool name and the canonical JSON of the input (key order
 * does not matter). Identical calls running at the same time share one execution. A cached result comes back
 * with `metadata.cached = true`. Calls with an already-aborted signal are refused before the cache is read.
 */
export function withResultCache<Input>(
  tool: Tool<Input>,
  options: ResultCacheOptions = {},
): CachedTool<Input> {
  const entries = new LruMap<string, ToolResult>(options.maxEntries ?? 10_000);
  const flushEvery = options.flushEvery ?? 0;
  if (!Number.isInteger(flushEvery) || flushEvery < 0) {
    throw new InvalidArgumentError({
      argument: 'flushEvery',
      message: `must be an integer ≥ 0, got ${flushEvery}`,
    });
  }
  const file = options.file === undefined ? undefined : path.resolve(options.file);
  const cacheErrors = options.cacheErrors ?? false;
  const inFlight = new Map<string, Promise<ToolResult>>();
  const counters = { hits: 0, misses: 0, joined: 0, uncacheable: 0, skippedLines: 0 };
  let unsaved = 0;
  let loading: Promise<void> | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  const shouldCache = (result: ToolResult): boolean => {
    if (result.ok) return true;
    if (result.error.code === 'aborted') return false;
    if (typeof cacheErrors === 'function') return cacheErrors(result.error);
    return cacheErrors && !neverCachedByDefault.has(result.error.code);
  };

  const load = (): Promise<void> => {
    loading ??= (async () => {
      if (file === undefined) return;
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new InvalidArgumentError({
          argument: 'file',
          message: `cannot read result cache ${file}`,
          cause: error,
        });
      }
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        try {
          const record = JSON.parse(line) as { key?: unknown; result?: unknown };
          if (typeof record.key === 'string' && isResult(record.result))
            entries.set(record.key, record.result);
          else counters.skippedLines += 1;
        } catch {
          // A torn or hand-edited line costs one entry, not the whole cache.
          counters.skippedLines += 1;
        }
      }
    })();
    return loading;
  };

  const flush = (): Promise<void> => {
    if (file === undefined) return Promise.resolve();
    // Writes run one after another; each writes the whole current cache.
    writing = writing.then(async () => {
      await load();
      unsaved = 0;
      const lines: string[] = [];
      for (const [key, result] of entries) lines.push(JSON.stringify({ key, result }));
      await mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
      try {
        await writeFile(temporary, lines.length === 0 ? '' : `${lines.join('\n')}\n`, 'utf8');
        await rename(temporary, file);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    });
    return writing;
  };

  const run = async (
    key: string,
    input: Input,
    executeOptions: ToolExecuteOptions | undefined,
  ): Promise<ToolResult> => {
    counters.misses += 1;
    const result = await tool.execute(input, executeOptions);
    // Only well-formed results are kept: a buggy tool's junk must not be replayed from the cache.
    if (isResult(result) && shouldCache(result)) {
      entries.set(key, result);
      unsaved += 1;
      if (flushEvery > 0 && unsaved >= flushEvery) await flush();
    }
    return result;
  };

  return {
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema,
    async execute(input: Input, executeOptions?: ToolExecuteOptions): Promise<ToolResult> {
      if (executeOptions?.signal?.aborted)
        return toolFailure('aborted', `'${tool.name}' was aborted before it started`);
      if (closed) return tool.execute(input, executeOptions);
      const canonical = canonicalJson(input === undefined ? null : input);
      if (canonical === undefined) {
        counters.uncacheable += 1;
        return tool.execute(input, executeOptions);
      }
      const key = `${tool.name}\u0000${canonical}`;
      try {
        await load();
      } catch {
        // An unreadable cache file must not fail the call; `load()` called directly reports the error.
        counters.uncacheable += 1;
        return tool.execute(input, executeOptions);
      }
      const cached = entries.get(key);
      if (cached !== undefined) {
        counters.hits += 1;
        return { ...cached, metadata: { ...cached.metadata, cached: true } } as ToolResult;
      }
      const running = inFlight.get(key);
      if (running !== undefined) {
        counters.joined += 1;
        const shared = await running;
        // The first caller's abort is not this caller's: run again for it.
        if (!shared.ok && shared.error.code === 'aborted' && executeOptions?.signal?.aborted !== true) {
          return run(key, input, executeOptions);
        }
        return shared;
      }
      const promise = run(key, input, executeOptions).finally(() => inFlight.delete(key));
      inFlight.set(key, promise);
      return promise;
    },
    stats: () => ({ ...counters, size: entries.size, evictions: entries.evictions }),
    load,
    flush,
    clear() {
      entries.clear();
      unsaved += 1;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await flush();
      } finally {
        await tool.close?.();
      }
    },
  };
}
