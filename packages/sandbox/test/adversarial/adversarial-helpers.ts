import type { Tool, ToolErrorCode, ToolResult } from '@arpo/core';
import { expect } from 'vitest';

/** A hostile (or broken) piece of code and what the sandbox must answer. */
export interface AdversarialCase {
  name: string;
  code: string;
  /** Error codes that count as a clear refusal; `ok` means a harmless result is expected instead. */
  expect: readonly (ToolErrorCode | 'ok')[];
  /** Checks the output or error message further. */
  check?: (text: string) => void;
  /** Wall-clock limit for this case, when the default is too short for legitimate setup work. */
  timeoutMs?: number;
}

const sentinel = Symbol.for('arpo.sandbox.adversarial.host-sentinel');

/** Marks the host so a case that reaches it can be detected. */
export function markHost(): void {
  (globalThis as Record<symbol, unknown>)[sentinel] = 'intact';
}

/** The host is healthy: its globals, environment and prototypes are untouched. */
export function expectHostHealthy(environmentBefore: Record<string, string | undefined>): void {
  expect((globalThis as Record<symbol, unknown>)[sentinel]).toBe('intact');
  expect(process.env).toEqual(environmentBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  expect(typeof process.exit).toBe('function');
}

/** Runs one case, then asserts the tool still answers a plain call (same tool, same pool). */
export async function runAdversarialCase(
  tool: Tool,
  testCase: AdversarialCase,
  options: { timeoutMs: number; followUp: { code: string; output: string } },
): Promise<ToolResult> {
  const result = await tool.execute({ code: testCase.code }, { timeoutMs: options.timeoutMs });
  const label = result.ok
    ? `ok: ${result.output.slice(0, 300)}`
    : `${result.error.code}: ${result.error.message.slice(0, 300)}`;
  expect(testCase.expect, label).toContain(result.ok ? 'ok' : result.error.code);
  testCase.check?.(result.ok ? result.output : result.error.message);
  const next = await tool.execute({ code: options.followUp.code }, { timeoutMs: 20_000 });
  expect(next, 'the next call on the same tool succeeds').toMatchObject({
    ok: true,
    output: options.followUp.output,
  });
  return result;
}
