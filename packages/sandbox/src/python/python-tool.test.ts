import { ValidationError } from '@arpo/core';
import { describeToolConformance } from '@arpo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyodidePool } from './pyodide-pool.js';
import { createPythonTool, type PythonTool } from './python-tool.js';

describeToolConformance('python (Pyodide)', {
  create: async () => {
    const tool = createPythonTool({ pool: { size: 1 } });
    await tool.pool.ready();
    return tool;
  },
  validInput: { code: 'print(6 * 7)' },
  expectOutput: (output) => expect(output).toBe('42\n'),
  invalidInput: { code: 42 },
  invalidInputCode: 'invalid-input',
});

describe('createPythonTool', () => {
  let tool: PythonTool;
  beforeAll(async () => {
    tool = createPythonTool({ pool: { size: 2, stdoutLimit: 1000, memoryLimitMb: 256 } });
    await tool.pool.ready();
  }, 120_000);
  afterAll(() => tool.close());

  const run = (code: string, timeoutMs = 5000) => tool.execute(code, { timeoutMs });

  it('loads Pyodide from the npm package without any network request', () => {
    expect(tool.pool.stats.networkAttempts).toBe(0);
    expect(tool.pool.stats.workersStarted).toBe(2);
    expect(tool.pool.stats.coldStartMs).toBeGreaterThan(0);
  });

  it('prints the value of a final bare expression, like a notebook', async () => {
    expect(await run('x = 20\nx + 22')).toMatchObject({ ok: true, output: '42' });
    expect(await run('print("a")\n"b"')).toMatchObject({ ok: true, output: "a\n'b'" });
    expect(await run('None')).toMatchObject({ ok: true, output: '' });
    expect(await run('x = 1')).toMatchObject({ ok: true, output: '' });
  });

  it('starts every call with a fresh namespace', async () => {
    expect((await run('secret = 41\nsecret')).ok).toBe(true);
    const second = await run('secret');
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.error.message).toContain("NameError: name 'secret' is not defined");
  });

  it('returns the last lines of a traceback as a runtime error', async () => {
    const result = await run('def inner():\n    raise ValueError("bad value")\nprint("before")\ninner()');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('runtime-error');
      expect(result.error.message).toContain('before\n');
      expect(result.error.message).toContain('line 2, in inner');
      expect(result.error.message).toMatch(/ValueError: bad value$/);
      expect(result.error.message).not.toContain('<sandbox>');
    }
    const syntax = await run('x = (');
    expect(syntax.ok).toBe(false);
    if (!syntax.ok) expect(syntax.error.message).toContain('SyntaxError');
  });

  it('runs standard-library code', async () => {
    const result = await run(
      'import math, fractions, statistics, itertools, json, re, collections\n' +
        'sum(i * i for i in range(10**5)), str(fractions.Fraction(1, 3) + fractions.Fraction(1, 6))',
    );
    expect(result).toMatchObject({ ok: true, output: "(333328333350000, '1/2')" });
  });

  it('caps output and marks the truncation', async () => {
    const result = await run('for i in range(10**6): print(i)');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('output-limit');
      expect(result.error.message).toContain('[output truncated: more than 1000 characters]');
      expect(result.error.message.length).toBeLessThan(1100);
    }
  });

  it('stops a running call when its signal aborts', async () => {
    const controller = new AbortController();
    const pending = tool.execute('while True: pass', { timeoutMs: 20_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const result = await pending;
    expect(result).toMatchObject({ ok: false, error: { code: 'aborted' } });
    expect(await run('1 + 1')).toMatchObject({ ok: true, output: '2' });
  });

  it('queues more calls than workers and runs them all', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, index) => run(`${index} * 2`)));
    expect(results.map((result) => (result.ok ? result.output : result.error.message))).toEqual([
      '0',
      '2',
      '4',
      '6',
      '8',
      '10',
    ]);
  });

  it('refuses bad options with a ValidationError naming the field', () => {
    expect(() => new PyodidePool({ size: 0 })).toThrow(ValidationError);
    expect(() => createPythonTool({ pool: { memoryLimitMb: 1 } })).toThrow(/memoryLimitMb/);
  });
});
