import { describe, expect, it } from 'vitest';
import { readCodeInput } from './code-input.js';
import { codeRunResult } from './code-result.js';
import { OutputCap } from './output-cap.js';

const options = { toolName: 'python', maxCodeLength: 20 };

describe('readCodeInput', () => {
  it('accepts a bare string and { code }', () => {
    expect(readCodeInput('1+1', options)).toEqual({ ok: true, code: '1+1' });
    expect(readCodeInput({ code: 'print(1)' }, options)).toEqual({ ok: true, code: 'print(1)' });
  });

  it('names what is wrong with bad input', () => {
    const cases: [unknown, string][] = [
      [{}, "'code' is missing"],
      [{ code: 3 }, "'code' must be a string, got number"],
      [null, 'got null'],
      [['x'], 'got array'],
      ['   ', "'code' is empty"],
      ['x'.repeat(21), 'more than the limit of 20'],
    ];
    for (const [input, expected] of cases) {
      const result = readCodeInput(input, options);
      expect(result.ok).toBe(false);
      if (!result.ok && !result.result.ok) {
        expect(result.result.error.code).toBe('invalid-input');
        expect(result.result.error.message).toContain(expected);
      }
    }
  });
});

describe('OutputCap', () => {
  it('keeps text up to the cap and reports overflow', () => {
    const cap = new OutputCap(5);
    expect(cap.append('abc')).toBe(true);
    expect(cap.append('def')).toBe(false);
    expect(cap.text).toBe('abcde');
    expect(cap.overflowed).toBe(true);
    expect(cap.append('g')).toBe(false);
  });
});

describe('codeRunResult', () => {
  const base = { stdout: '', stderr: '', message: '', stdoutLimit: 10, stderrLimit: 10, durationMs: 1 };

  it('shows stdout then stderr on success', () => {
    const result = codeRunResult({ ...base, status: 'ok', stdout: 'out', stderr: 'warn\n' });
    expect(result).toMatchObject({ ok: true, output: 'out\nwarn\n' });
  });

  it('prefixes errors with what was printed and marks truncation', () => {
    const failed = codeRunResult({ ...base, status: 'error', stdout: 'partial', message: 'ValueError: x' });
    expect(failed).toMatchObject({
      ok: false,
      error: { code: 'runtime-error', message: 'partial\nValueError: x' },
    });
    const truncated = codeRunResult({ ...base, status: 'output-limit', stdout: 'x'.repeat(10) });
    expect(truncated.ok).toBe(false);
    if (!truncated.ok)
      expect(truncated.error.message).toBe(`${'x'.repeat(10)}\n[output truncated: more than 10 characters]`);
    const unavailable = codeRunResult({ ...base, status: 'unavailable', message: 'down' });
    expect(unavailable).toMatchObject({ ok: false, error: { code: 'unavailable', retryable: true } });
  });
});
