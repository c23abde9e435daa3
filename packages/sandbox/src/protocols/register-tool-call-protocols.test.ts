import { toolCallProtocolRegistry } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { createCallBudget } from './call-budget.js';
import { registerSandboxToolCallProtocols } from './register-tool-call-protocols.js';
import { bodyFieldOf, toolInputFromText } from './tool-input-from-text.js';

describe('registerSandboxToolCallProtocols', () => {
  it('registers arpo-tags and hermes-json, idempotently', () => {
    registerSandboxToolCallProtocols();
    const first = toolCallProtocolRegistry().get('arpo-tags');
    registerSandboxToolCallProtocols();
    expect(toolCallProtocolRegistry().get('arpo-tags')).toBe(first);
    expect(first.stopStrings).toEqual(['</python>', '</search>']);
    expect(toolCallProtocolRegistry().get('hermes-json').name).toBe('hermes-json');
  });
});

describe('createCallBudget', () => {
  const malformed = {
    kind: 'malformed' as const,
    raw: '<python></python>',
    error: { code: 'malformed-call' as const, message: 'empty' },
  };

  it('counts malformed calls toward the total only', () => {
    const budget = createCallBudget({ total: 1, perTool: { python: 5 } });
    expect(budget.admit(malformed)).toBeUndefined();
    expect(budget.usedBy('python')).toBe(0);
    expect(budget.admit({ kind: 'call', toolName: 'python', input: {}, raw: '' })).toMatchObject({
      code: 'call-limit',
    });
    expect(budget.remaining()).toBe(0);
  });

  it('is unlimited without limits and refuses negative ones', () => {
    const budget = createCallBudget();
    for (let i = 0; i < 100; i += 1) expect(budget.admit(malformed)).toBeUndefined();
    expect(budget.remaining('python')).toBe(Number.POSITIVE_INFINITY);
    expect(() => createCallBudget({ total: -1 })).toThrow(/callLimits\.total/);
    expect(() => createCallBudget({ perTool: { python: 1.5 } })).toThrow(/callLimits\.perTool\.python/);
  });
});

describe('toolInputFromText', () => {
  const spec = (inputSchema: Record<string, unknown>) => ({ name: 't', description: 'd', inputSchema });

  it('picks the field a tag body belongs in', () => {
    expect(
      bodyFieldOf(
        spec({ type: 'object', properties: { code: {}, timeout: { type: 'number' } }, required: ['code'] }),
      ),
    ).toBe('code');
    expect(bodyFieldOf(spec({ type: 'object', properties: { expression: { type: 'string' } } }))).toBe(
      'expression',
    );
    expect(bodyFieldOf(spec({ type: 'object', properties: { query: {}, limit: {} } }))).toBe('query');
    expect(bodyFieldOf(spec({ type: 'object', properties: { a: {}, b: {} } }))).toBeUndefined();
    expect(bodyFieldOf(spec({ type: 'string' }))).toBeUndefined();
    expect(toolInputFromText('x', spec({ type: 'object', properties: { a: {}, b: {} } }))).toBe('x');
    expect(toolInputFromText('x', spec({}), 'field')).toEqual({ field: 'x' });
  });
});
