import { type ToolCallParse, type ToolSpec, toolErrorCodes } from '@arpo/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createArpoTagProtocol } from './arpo-tag-protocol.js';

const python: ToolSpec = {
  name: 'python',
  description: 'Runs Python code and returns what it prints.',
  inputSchema: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] },
};
const search: ToolSpec = {
  name: 'search',
  description: 'Searches the web.',
  inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
};
const tools = [python, search];
const protocol = createArpoTagProtocol();

function only(calls: ToolCallParse[]): ToolCallParse {
  expect(calls).toHaveLength(1);
  return calls[0] as ToolCallParse;
}

describe('createArpoTagProtocol', () => {
  it('stops at the closing tags of its tools', () => {
    expect(protocol.name).toBe('arpo-tags');
    expect(protocol.stopStrings).toEqual(['</python>', '</search>']);
    expect(createArpoTagProtocol({ tags: { code: 'python' } }).stopStrings).toEqual(['</code>']);
  });

  it('parses a search call cut at its stop string, trimming the body into the schema field', () => {
    const turn = '<think> I need the debut film. </think>\n<search> Amy Smart film debut </search>';
    expect(only(protocol.parse(turn, { tools, stopString: '</search>' }))).toEqual({
      kind: 'call',
      toolName: 'search',
      input: { query: 'Amy Smart film debut' },
      raw: '<search> Amy Smart film debut </search>',
    });
  });

  it('parses a python call and restores a stop string the runtime dropped', () => {
    const turn = 'Let me compute.<python>\nprint(2 ** 10)\n';
    expect(only(protocol.parse(turn, { tools, stopString: '</python>' }))).toMatchObject({
      kind: 'call',
      toolName: 'python',
      input: { code: 'print(2 ** 10)' },
      raw: '<python>\nprint(2 ** 10)\n</python>',
    });
  });

  it('tidies code bodies (fence, indentation) unless told to keep them verbatim', () => {
    const turn = '<python>\n```python\n    x = 2\n    print(x)\n```\n</python>';
    expect(only(protocol.parse(turn, { tools }))).toMatchObject({ input: { code: 'x = 2\nprint(x)' } });
    const verbatim = createArpoTagProtocol({ tidyBody: false });
    expect(only(verbatim.parse('<search> q </search>', { tools }))).toMatchObject({
      input: { query: ' q ' },
    });
  });

  it('takes the first complete call, where generation should have stopped', () => {
    const turn = '<search>first</search> <result>hallucinated</result> <python>print(1)</python>';
    expect(only(protocol.parse(turn, { tools }))).toMatchObject({
      toolName: 'search',
      input: { query: 'first' },
    });
  });

  it('makes no call for a final answer', () => {
    expect(protocol.parse('<think>done</think><answer>\\boxed{42}</answer>', { tools })).toEqual([]);
    expect(protocol.parse('Just some prose with no tags.', { tools })).toEqual([]);
    expect(protocol.parse('', { tools })).toEqual([]);
  });

  it.each([
    ['<python></python>', 'malformed-call', 'python', /empty/],
    ['<search>   \n </search>', 'malformed-call', 'search', /empty/],
    ['print(1)</python>', 'malformed-call', 'python', /without an opening <python>/],
    ['<python>print(1)<search>x</python>', 'malformed-call', 'python', /<search> was opened inside <python>/],
    ['I will run <python>print(1)', 'malformed-call', 'python', /never closed/],
    ['<bash>ls -la</bash>', 'unknown-tool', 'bash', /<bash> is not a tool; call tags are <python>, <search>/],
  ])('reports %j as a malformed call', (turn, code, toolName, message) => {
    const call = only(protocol.parse(turn, { tools }));
    expect(call.kind).toBe('malformed');
    if (call.kind !== 'malformed') return;
    expect(call.error.code).toBe(code);
    expect(call.toolName).toBe(toolName);
    expect(call.error.message).toMatch(message);
    expect(turn).toContain(call.raw.slice(0, 5));
  });

  it('reports a tag of a tool missing from this task as unknown-tool', () => {
    const call = only(protocol.parse('<python>print(1)</python>', { tools: [search] }));
    expect(call).toMatchObject({ kind: 'malformed', toolName: 'python', error: { code: 'unknown-tool' } });
    if (call.kind === 'malformed') expect(call.error.message).toContain('available: search');
  });

  it('ignores unknown tags inside <think> and can be told not to report them', () => {
    expect(protocol.parse('<think>maybe <b>bold</b> words</think> no call yet', { tools })).toEqual([]);
    expect(createArpoTagProtocol({ reportUnknownTags: false }).parse('<bash>ls</bash>', { tools })).toEqual(
      [],
    );
  });

  it('formats results exactly like the reference rollout, errors included', () => {
    const call = only(protocol.parse('<python>print(1)</python>', { tools }));
    expect(protocol.formatResults([{ call, result: { ok: true, output: '1' } }])).toBe(
      ' <result>\n1\n</result>',
    );
    expect(
      protocol.formatResults([
        { call, result: { ok: false, error: { code: 'timeout', message: 'took over 5 s' } } },
      ]),
    ).toBe(' <result>\nError (timeout): took over 5 s\n</result>');
    const custom = createArpoTagProtocol({ resultPrefix: '\n', formatError: (error) => error.message });
    expect(
      custom.formatResults([{ call, result: { ok: false, error: { code: 'internal', message: 'x' } } }]),
    ).toBe('\n<result>\nx\n</result>');
  });

  it('describes the tools it has tags for', () => {
    const text = protocol.describeTools?.(tools) ?? '';
    expect(text).toContain('- <python> … </python>: Runs Python code and returns what it prints.');
    expect(text).toContain('- <search> … </search>: Searches the web.');
    expect(text).toContain('<answer>');
    expect(protocol.describeTools?.([search])).not.toContain('<python> …');
  });

  it('uses a configured input field and passes a bare string to string schemas', () => {
    const withField = createArpoTagProtocol({ inputFields: { search: 'q' } });
    expect(only(withField.parse('<search>x</search>', { tools }))).toMatchObject({ input: { q: 'x' } });
    const bare: ToolSpec = { name: 'search', description: 'd', inputSchema: { type: 'string' } };
    expect(only(protocol.parse('<search>x</search>', { tools: [bare] }))).toMatchObject({ input: 'x' });
  });

  it('refuses bad tag configurations', () => {
    expect(() => createArpoTagProtocol({ tags: [] })).toThrow(/at least one/);
    expect(() => createArpoTagProtocol({ tags: ['has space'] })).toThrow(/not a valid tag name/);
    expect(() => createArpoTagProtocol({ tags: ['answer'] })).toThrow(/both a call tag and a text tag/);
  });

  it('exposes per-trajectory call limits as a budget', () => {
    const limited = createArpoTagProtocol({ callLimits: { perTool: { python: 1 }, total: 2 } });
    const budget = limited.createCallBudget();
    const pythonCall = only(limited.parse('<python>1</python>', { tools }));
    const searchCall = only(limited.parse('<search>q</search>', { tools }));
    expect(budget.admit(pythonCall)).toBeUndefined();
    expect(budget.admit(pythonCall)).toMatchObject({ code: 'call-limit', message: /at most 1 python calls/ });
    expect(budget.remaining('search')).toBe(1);
    expect(budget.admit(searchCall)).toBeUndefined();
    expect(budget.admit(searchCall)).toMatchObject({ code: 'call-limit', message: /at most 2 tool calls/ });
    expect(budget.used).toBe(2);
    expect(budget.usedBy('python')).toBe(1);
    expect(limited.createCallBudget().used).toBe(0);
  });
});

const fragments = [
  '<python>',
  '</python>',
  '<search>',
  '</search>',
  '<answer>',
  '</answer>',
  '<think>',
  '</think>',
  '<result>',
  '</result>',
  '<bash>',
  '</bash>',
  '<',
  '>',
  '</',
  '\n',
  ' ',
  'print(1)',
  'query',
  '<<python>>',
  '</ python>',
  '\u0000',
  '😀',
];

describe('arpo-tags parse never throws (property)', () => {
  it('returns well-formed parses for arbitrary tag soup', () => {
    const turn = fc
      .array(fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 8 })), { maxLength: 40 })
      .map((parts) => parts.join(''));
    const stopString = fc.option(fc.constantFrom('</python>', '</search>', '</bash>', ''), {
      nil: undefined,
    });
    fc.assert(
      fc.property(turn, stopString, fc.boolean(), (text, stop, withTools) => {
        const context =
          stop === undefined
            ? { tools: withTools ? tools : [] }
            : { tools: withTools ? tools : [], stopString: stop };
        const calls = protocol.parse(text, context);
        expect(Array.isArray(calls)).toBe(true);
        expect(calls.length).toBeLessThanOrEqual(1);
        for (const call of calls) {
          expect(`${text}${stop ?? ''}`).toContain(call.raw);
          if (call.kind === 'malformed') expect(toolErrorCodes).toContain(call.error.code);
          else expect(tools.map((tool) => tool.name)).toContain(call.toolName);
        }
        expect(
          typeof protocol.formatResults(calls.map((call) => ({ call, result: { ok: true, output: text } }))),
        ).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on hostile context values', () => {
    const hostile = [undefined, null, 42, {}, { tools: null }, { tools: 'x' }];
    for (const context of hostile) {
      expect(() => protocol.parse('<python>1</python>', context as never)).not.toThrow();
      expect(() => protocol.parse(null as never, context as never)).not.toThrow();
    }
  });
});
