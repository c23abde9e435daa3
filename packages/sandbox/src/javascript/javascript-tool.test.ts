import { ValidationError } from '@arpo/core';
import { describeToolConformance } from '@arpo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJavaScriptTool, type JavaScriptTool } from './javascript-tool.js';
import { QuickJsPool } from './quickjs-pool.js';

describeToolConformance('javascript (QuickJS)', {
  create: () => createJavaScriptTool({ pool: { size: 1 } }),
  validInput: { code: 'console.log(6 * 7)' },
  expectOutput: (output) => expect(output).toBe('42\n'),
  invalidInput: { code: ['not', 'code'] },
  invalidInputCode: 'invalid-input',
});

describe('createJavaScriptTool', () => {
  let tool: JavaScriptTool;
  beforeAll(async () => {
    // A long grace: the interrupt tests below must not depend on how fast a loaded machine schedules the worker.
    tool = createJavaScriptTool({ outputLimit: 200, memoryLimitMb: 16, pool: { interruptGraceMs: 5_000 } });
    await tool.pool.ready();
  });
  afterAll(() => tool.close());

  it('prints console output, then the last expression', async () => {
    const result = await tool.execute('console.log("a", 1, { b: [2] }); const x = 40; x + 2');
    expect(result).toMatchObject({ ok: true, output: 'a 1 {"b":[2]}\n42' });
  });

  it('accepts a bare string and { code }', async () => {
    expect(await tool.execute('"text"')).toMatchObject({ ok: true, output: 'text' });
    expect(await tool.execute({ code: '10n ** 20n' })).toMatchObject({
      ok: true,
      output: '100000000000000000000n',
    });
  });

  it('formats functions, errors, symbols and values with no JSON form', async () => {
    const cases: [string, string][] = [
      ['function named() {}; named', '[Function: named]'],
      ['new RangeError("far")', 'RangeError: far'],
      ['Symbol("s")', 'Symbol(s)'],
      ['({ big: 2n })', '{"big":"2n"}'],
      ['const cycle = {}; cycle.self = cycle; cycle', '[object Object]'],
      ['console.log(null, undefined, [1, "a"])', 'null undefined [1,"a"]\n'],
    ];
    for (const [code, output] of cases) expect(await tool.execute(code)).toMatchObject({ ok: true, output });
  });

  it('reports exceptions with their stack as runtime errors', async () => {
    const result = await tool.execute('function inner() { throw new TypeError("nope"); }\ninner()');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('runtime-error');
      expect(result.error.message).toContain('TypeError: nope');
      expect(result.error.message).toContain('at inner');
    }
  });

  it('starts every call in a fresh context', async () => {
    await tool.execute('globalThis.kept = 1; Object.prototype.leaked = 1');
    expect(await tool.execute('typeof kept + ({}).leaked')).toMatchObject({
      ok: true,
      output: 'undefinedundefined',
    });
  });

  it('caps output, keeping what fits', async () => {
    const result = await tool.execute('console.log("x".repeat(500))');
    expect(result).toMatchObject({ ok: false, error: { code: 'output-limit' } });
    if (!result.ok)
      expect(result.error.message).toMatch(/^x{200}\n\[output truncated: more than 200 characters\]$/);
  });

  it('caps the heap', async () => {
    const replaced = tool.pool.stats.workersReplaced;
    const result = await tool.execute(
      'const unit = "y".repeat(1 << 20); const parts = []; for (let i = 0; ; i++) parts.push(unit.slice(i % 7))',
      { timeoutMs: 20_000 },
    );
    expect(result).toMatchObject({ ok: false, error: { code: 'memory-limit' } });
    if (!result.ok) expect(result.error.message).toContain('16 MiB memory cap (its worker was replaced)');
    expect(tool.pool.stats.workersReplaced).toBe(replaced + 1);
    expect(await tool.execute('1 + 1')).toMatchObject({ ok: true, output: '2' });
  });

  it('stops an infinite loop at the interrupt check without replacing the worker', async () => {
    const before = tool.pool.stats.workersReplaced;
    const result = await tool.execute('for (;;) {}', { timeoutMs: 100 });
    expect(result).toMatchObject({ ok: false, error: { code: 'timeout' } });
    if (!result.ok) expect(result.error.message).toBe('the code ran longer than 100 ms and was stopped');
    expect(tool.pool.stats.workersReplaced).toBe(before);
  });

  it('aborts a running call through its signal', async () => {
    const controller = new AbortController();
    const running = tool.execute('for (;;) {}', { signal: controller.signal, timeoutMs: 60_000 });
    setTimeout(() => controller.abort(), 50);
    expect(await running).toMatchObject({ ok: false, error: { code: 'aborted' } });
    expect(await tool.execute('"after"')).toMatchObject({ ok: true, output: 'after' });
  });

  it('refuses bad options with a ValidationError naming the field', () => {
    expect(() => new QuickJsPool({ size: 0 })).toThrow(ValidationError);
    expect(() => createJavaScriptTool({ pool: { size: 0 } })).toThrow(/size/);
    expect(() => createJavaScriptTool({ maxStackSizeKb: 4096 })).toThrow(/maxStackSizeKb/);
    expect(() => createJavaScriptTool({ pool: { memoryLimitMb: 8 } as never })).toThrow(ValidationError);
  });
});

describe('QuickJS pool', () => {
  it('queues calls beyond its size and refuses them past maxQueueLength', async () => {
    const tool = createJavaScriptTool({ pool: { size: 1, maxQueueLength: 1 } });
    try {
      await tool.pool.ready();
      const first = tool.execute('let n = 0; for (let i = 0; i < 1e5; i++) n += i; n');
      const second = tool.execute('"queued"');
      const third = await tool.execute('"refused"');
      expect(third).toMatchObject({ ok: false, error: { code: 'unavailable', retryable: true } });
      expect(await first).toMatchObject({ ok: true, output: '4999950000' });
      expect(await second).toMatchObject({ ok: true, output: 'queued' });
    } finally {
      await tool.close();
    }
  });

  it('aborts a queued call without running it', async () => {
    const tool = createJavaScriptTool({ pool: { size: 1 } });
    try {
      const controller = new AbortController();
      const blocker = tool.execute('for (;;) {}', { timeoutMs: 300 });
      const queued = tool.execute('"ran"', { signal: controller.signal });
      controller.abort();
      expect(await queued).toMatchObject({ ok: false, error: { code: 'aborted' } });
      expect(await blocker).toMatchObject({ ok: false, error: { code: 'timeout' } });
    } finally {
      await tool.close();
    }
  });

  it('an abort that lands before the worker reads the request ends the call as aborted', async () => {
    const tool = createJavaScriptTool({ pool: { size: 1 } });
    try {
      await tool.pool.ready();
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const controller = new AbortController();
        // Dispatched synchronously to the idle worker; the abort writes the interrupt cell before the worker has
        // even read the request, so the sandbox's own set-up runs with the cell already set.
        const running = tool.execute('for (;;) {}', { signal: controller.signal, timeoutMs: 60_000 });
        controller.abort();
        expect(await running).toMatchObject({ ok: false, error: { code: 'aborted' } });
      }
      expect(await tool.execute('"next"')).toMatchObject({ ok: true, output: 'next' });
    } finally {
      await tool.close();
    }
  });

  it('recycles workers after recycleAfterCalls', async () => {
    const tool = createJavaScriptTool({ pool: { size: 1, recycleAfterCalls: 2 } });
    try {
      for (let call = 0; call < 3; call += 1) expect(await tool.execute('1')).toMatchObject({ ok: true });
      expect(tool.pool.stats.workersReplaced).toBe(1);
      expect(tool.pool.stats.workersStarted).toBe(2);
    } finally {
      await tool.close();
    }
  });

  it('answers unavailable once closed, and queued calls resolve', async () => {
    const tool = createJavaScriptTool({ pool: { size: 1 } });
    const running = tool.execute('for (;;) {}', { timeoutMs: 60_000 });
    const queued = tool.execute('1');
    await tool.close();
    expect(await running).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(await queued).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(await tool.execute('1')).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  });
});
