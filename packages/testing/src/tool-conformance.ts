import { type Tool, type ToolErrorCode, type ToolResult, toolErrorCodes, toolNamePattern } from '@arpo/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

export interface ToolConformanceOptions {
  create: () => Tool | Promise<Tool>;
  /** An input the tool must handle successfully. */
  validInput: unknown;
  /** Optional check of the successful output text. */
  expectOutput?: (output: string) => void;
  /** An input the tool must refuse with a tool error (not a rejection). */
  invalidInput?: unknown;
  /** Expected error code for `invalidInput`. Default: any code. */
  invalidInputCode?: ToolErrorCode;
  /** Timeout passed to every call. Default 20 000 ms. */
  timeoutMs?: number;
}

function expectToolResult(result: unknown): asserts result is ToolResult {
  expect(result).toBeTypeOf('object');
  const value = result as ToolResult;
  if (value.ok) expect(typeof value.output).toBe('string');
  else {
    expect(toolErrorCodes).toContain(value.error.code);
    expect(typeof value.error.message).toBe('string');
  }
}

/**
 * The checks every `Tool` implementation must pass. Call it at the top level of a test file:
 * `describeToolConformance('python', { create: () => createPythonTool(), validInput: { code: '1+1' } })`.
 */
export function describeToolConformance(name: string, options: ToolConformanceOptions): void {
  const timeoutMs = options.timeoutMs ?? 20_000;
  describe(`Tool conformance: ${name}`, () => {
    let tool: Tool;
    beforeAll(async () => {
      tool = await options.create();
    }, 60_000);
    afterAll(async () => {
      await tool?.close?.();
      // close is idempotent
      await tool?.close?.();
    });

    it('has a model-writable name, a description and an object input schema', () => {
      expect(tool.name).toMatch(toolNamePattern);
      expect(tool.description.trim().length).toBeGreaterThan(0);
      expect(tool.inputSchema).toBeTypeOf('object');
      expect(tool.inputSchema).not.toBeNull();
    });

    it('executes a valid input', async () => {
      const result = await tool.execute(options.validInput, { timeoutMs });
      expectToolResult(result);
      expect(result.ok, result.ok ? '' : result.error.message).toBe(true);
      if (result.ok) options.expectOutput?.(result.output);
    });

    it('resolves (never rejects) on junk input', async () => {
      for (const junk of [undefined, null, 42, {}, [], { unexpected: true }, '\u0000'.repeat(3)]) {
        const result = await tool.execute(junk, { timeoutMs });
        expectToolResult(result);
      }
    });

    it('refuses an invalid input with a tool error', async () => {
      if (options.invalidInput === undefined) return;
      const result = await tool.execute(options.invalidInput, { timeoutMs });
      expectToolResult(result);
      expect(result.ok).toBe(false);
      if (!result.ok && options.invalidInputCode !== undefined)
        expect(result.error.code).toBe(options.invalidInputCode);
    });

    it('resolves with an aborted error when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const result = await tool.execute(options.validInput, { timeoutMs, signal: controller.signal });
      expectToolResult(result);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('aborted');
    });

    it('handles concurrent calls', async () => {
      const results = await Promise.all(
        Array.from({ length: 4 }, () => tool.execute(options.validInput, { timeoutMs })),
      );
      for (const result of results) {
        expectToolResult(result);
        expect(result.ok).toBe(true);
      }
    });
  });
}
