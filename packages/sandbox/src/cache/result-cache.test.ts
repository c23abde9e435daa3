import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toolFailure, toolSuccess } from '@arpo/core';
import { createScriptedTool, describeToolConformance } from '@arpo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LruMap } from './lru-map.js';
import { withResultCache } from './result-cache.js';

describeToolConformance('result cache wrapper', {
  create: () =>
    withResultCache(createScriptedTool({ name: 'echo', respond: (input) => String(JSON.stringify(input)) })),
  validInput: { input: 'x' },
  expectOutput: (output) => expect(output).toBe('{"input":"x"}'),
});

describe('withResultCache', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'arpo-result-cache-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('answers repeated inputs from the cache whatever the key order', async () => {
    const inner = createScriptedTool({
      name: 'calc',
      respond: (input) => `computed ${JSON.stringify(input)}`,
    });
    const cached = withResultCache(inner);
    const first = await cached.execute({ a: 1, b: 2 });
    const second = await cached.execute({ b: 2, a: 1 });
    expect(first).toEqual({ ok: true, output: 'computed {"a":1,"b":2}' });
    expect(second).toEqual({ ok: true, output: 'computed {"a":1,"b":2}', metadata: { cached: true } });
    expect(inner.calls).toHaveLength(1);
    expect(cached.stats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
  });

  it('evicts the least recently used entry', async () => {
    const inner = createScriptedTool({ name: 'calc', respond: (input) => String(input) });
    const cached = withResultCache(inner, { maxEntries: 2 });
    await cached.execute('a');
    await cached.execute('b');
    await cached.execute('a');
    await cached.execute('c');
    await cached.execute('a');
    expect(inner.calls).toEqual(['a', 'b', 'c']);
    await cached.execute('b');
    expect(inner.calls).toEqual(['a', 'b', 'c', 'b']);
    expect(cached.stats().evictions).toBe(2);
  });

  it('does not cache errors unless asked, and never caches aborts', async () => {
    let code: 'runtime-error' | 'timeout' | 'aborted' = 'runtime-error';
    const inner = createScriptedTool({ name: 'flaky', respond: () => toolFailure(code, 'no') });
    const plain = withResultCache(inner);
    await plain.execute('x');
    await plain.execute('x');
    expect(inner.calls).toHaveLength(2);
    const withErrors = withResultCache(inner, { cacheErrors: true });
    await withErrors.execute('y');
    await withErrors.execute('y');
    expect(inner.calls).toHaveLength(3);
    code = 'timeout';
    await withErrors.execute('z');
    await withErrors.execute('z');
    expect(inner.calls).toHaveLength(5);
    code = 'aborted';
    const everything = withResultCache(inner, { cacheErrors: () => true });
    await everything.execute('w');
    await everything.execute('w');
    expect(inner.calls).toHaveLength(7);
  });

  it('shares one execution between identical concurrent calls', async () => {
    const inner = createScriptedTool({ name: 'slow', respond: () => 'done', latencyMs: 30 });
    const cached = withResultCache(inner);
    const results = await Promise.all([cached.execute('q'), cached.execute('q'), cached.execute('q')]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(inner.calls).toHaveLength(1);
    expect(cached.stats()).toMatchObject({ joined: 2, misses: 1 });
  });

  it('refuses an already-aborted call even when the result is cached', async () => {
    const cached = withResultCache(createScriptedTool({ name: 't', respond: () => 'r' }));
    await cached.execute('q');
    const controller = new AbortController();
    controller.abort();
    expect(await cached.execute('q', { signal: controller.signal })).toMatchObject({
      ok: false,
      error: { code: 'aborted' },
    });
  });

  it('bypasses the cache for inputs without canonical JSON', async () => {
    const inner = createScriptedTool({ name: 't', respond: () => 'r' });
    const cached = withResultCache(inner);
    await cached.execute({ n: 1n });
    await cached.execute({ n: 1n });
    expect(inner.calls).toHaveLength(2);
    expect(cached.stats().uncacheable).toBe(2);
  });

  it('persists to a JSON Lines file atomically and reloads it', async () => {
    const file = path.join(directory, 'nested', 'search-cache.jsonl');
    const inner = createScriptedTool({
      name: 'search',
      respond: (input) => toolSuccess(`Page 1: ${String(input)}`),
    });
    const first = withResultCache(inner, { file });
    await first.execute('alpha');
    await first.execute('beta');
    await first.close?.();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { key: 'search\u0000"alpha"', result: { ok: true, output: 'Page 1: alpha' } },
      { key: 'search\u0000"beta"', result: { ok: true, output: 'Page 1: beta' } },
    ]);
    expect((await readdir(path.dirname(file))).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    const second = withResultCache(inner, { file });
    expect(await second.execute('beta')).toMatchObject({
      ok: true,
      output: 'Page 1: beta',
      metadata: { cached: true },
    });
    expect(inner.calls).toEqual(['alpha', 'beta']);
  });

  it('skips unreadable lines and flushes every N results when asked', async () => {
    const file = path.join(directory, 'torn.jsonl');
    await writeFile(
      file,
      '{"key":"t\\u0000\\"ok\\"","result":{"ok":true,"output":"kept"}}\n{"key": "torn\n{"key":"x","result":{"ok":"yes"}}\n',
    );
    const inner = createScriptedTool({ name: 't', respond: () => 'fresh' });
    const cached = withResultCache(inner, { file, flushEvery: 1 });
    expect(await cached.execute('ok')).toMatchObject({ output: 'kept' });
    expect(cached.stats().skippedLines).toBe(2);
    await cached.execute('new');
    expect(await readFile(file, 'utf8')).toContain('"output":"fresh"');
  });

  it('refuses bad options', () => {
    const inner = createScriptedTool({ name: 't', respond: () => 'r' });
    expect(() => withResultCache(inner, { maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => withResultCache(inner, { flushEvery: -1 })).toThrow(/flushEvery/);
    expect(() => new LruMap(1.5)).toThrow(/maxEntries/);
  });
});
