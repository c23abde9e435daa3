import { describeToolConformance } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { createJavaScriptTool } from './javascript-tool.js';

describeToolConformance('javascript (QuickJS)', {
  create: () => createJavaScriptTool(),
  validInput: { code: 'console.log(6 * 7)' },
  expectOutput: (output) => expect(output).toBe('42\n'),
  invalidInput: { code: ['not', 'code'] },
  invalidInputCode: 'invalid-input',
});

describe('createJavaScriptTool', () => {
  const tool = createJavaScriptTool({ outputLimit: 200 });

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
    await tool.execute('globalThis.kept = 1');
    expect(await tool.execute('typeof kept')).toMatchObject({ ok: true, output: 'undefined' });
  });

  it('caps output', async () => {
    const result = await tool.execute('console.log("x".repeat(500))');
    expect(result).toMatchObject({ ok: false, error: { code: 'output-limit' } });
  });
});
