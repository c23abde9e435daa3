import { type ToolCallParse, type ToolSpec, toolErrorCodes } from '@arpo/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHermesJsonProtocol, qwenChatResultWrapping } from './hermes-json-protocol.js';

const tools: ToolSpec[] = [
  {
    name: 'search',
    description: 'Searches the web.',
    inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
  {
    name: 'python',
    description: 'Runs Python.',
    inputSchema: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] },
  },
];
const protocol = createHermesJsonProtocol();

describe('createHermesJsonProtocol', () => {
  it('parses several calls in one turn', () => {
    const turn =
      'I will look both up.\n<tool_call>\n{"name": "search", "arguments": {"query": "Yuri Ozerov"}}\n</tool_call>\n' +
      '<tool_call>\n{"name": "python", "arguments": {"code": "print(1)"}}\n</tool_call>';
    const calls = protocol.parse(turn, { tools });
    expect(calls).toEqual([
      {
        kind: 'call',
        toolName: 'search',
        input: { query: 'Yuri Ozerov' },
        raw: '<tool_call>\n{"name": "search", "arguments": {"query": "Yuri Ozerov"}}\n</tool_call>',
      },
      {
        kind: 'call',
        toolName: 'python',
        input: { code: 'print(1)' },
        raw: '<tool_call>\n{"name": "python", "arguments": {"code": "print(1)"}}\n</tool_call>',
      },
    ]);
    expect(protocol.stopStrings).toEqual([]);
    expect(createHermesJsonProtocol({ stopAtEachCall: true }).stopStrings).toEqual(['</tool_call>']);
  });

  it('accepts stringified arguments, bare string arguments, fences, lists and missing arguments', () => {
    const parse = (body: string) => protocol.parse(`<tool_call>${body}</tool_call>`, { tools });
    expect(parse('{"name": "search", "arguments": "{\\"query\\": \\"x\\"}"}')[0]).toMatchObject({
      input: { query: 'x' },
    });
    expect(parse('{"name": "search", "arguments": "plain query"}')[0]).toMatchObject({
      input: 'plain query',
    });
    expect(parse('```json\n{"name": "search", "arguments": {"query": "y"}}\n```')[0]).toMatchObject({
      input: { query: 'y' },
    });
    expect(
      parse('[{"name": "search", "arguments": {}}, {"name": "python"}]').map((call) => call.kind),
    ).toEqual(['call', 'call']);
    expect(parse('{"name": "python", "parameters": {"code": "1"}}')[0]).toMatchObject({
      input: { code: '1' },
    });
  });

  it('restores a dropped stop string', () => {
    const stopping = createHermesJsonProtocol({ stopAtEachCall: true });
    const calls = stopping.parse('<tool_call>{"name": "search", "arguments": {"query": "q"}}', {
      tools,
      stopString: '</tool_call>',
    });
    expect(calls).toMatchObject([{ kind: 'call', toolName: 'search' }]);
  });

  it.each([
    [
      '<tool_call>{"name": "search", "arguments": {"query": }</tool_call>',
      'malformed-call',
      /invalid JSON/,
      'search',
    ],
    ['<tool_call></tool_call>', 'malformed-call', /empty/, undefined],
    ['<tool_call>{"arguments": {}}</tool_call>', 'malformed-call', /no "name"/, undefined],
    ['<tool_call>{"name": 7}</tool_call>', 'malformed-call', /no "name"/, undefined],
    ['<tool_call>"search"</tool_call>', 'malformed-call', /must be a JSON object/, undefined],
    ['<tool_call>[]</tool_call>', 'malformed-call', /empty list/, undefined],
    [
      '<tool_call>{"name": "search", "arguments": [1]}</tool_call>',
      'malformed-call',
      /must be an object/,
      'search',
    ],
    [
      '<tool_call>{"name": "bash", "arguments": {}}</tool_call>',
      'unknown-tool',
      /'bash' does not exist/,
      'bash',
    ],
    [
      '<tool_call>{"name": "search", "arguments": {"query": "q"}}',
      'malformed-call',
      /never closed/,
      undefined,
    ],
    ['{"name": "search"}</tool_call>', 'malformed-call', /without an opening/, undefined],
  ])('reports %j as malformed', (turn, code, message, toolName) => {
    const calls = protocol.parse(turn, { tools });
    expect(calls).toHaveLength(1);
    const call = calls[0] as ToolCallParse;
    expect(call.kind).toBe('malformed');
    if (call.kind !== 'malformed') return;
    expect(call.error.code).toBe(code);
    expect(call.error.message).toMatch(message);
    expect(call.toolName).toBe(toolName);
    expect(turn).toContain(call.raw);
  });

  it('keeps valid calls next to malformed ones, in order', () => {
    const turn =
      '<tool_call>{"name": "search", "arguments": {"query": "a"}}</tool_call><tool_call>{oops}</tool_call>' +
      '<tool_call>{"name": "python", "arguments": {"code": "2"}}</tool_call>';
    expect(protocol.parse(turn, { tools }).map((call) => call.kind)).toEqual(['call', 'malformed', 'call']);
  });

  it('makes no call for plain text', () => {
    expect(protocol.parse('The answer is 42.', { tools })).toEqual([]);
  });

  it('formats tool responses like the Qwen chat template, with optional chat wrapping', () => {
    const [first, second] = protocol.parse(
      '<tool_call>{"name": "search", "arguments": {"query": "a"}}</tool_call><tool_call>{"name": "bash"}</tool_call>',
      { tools },
    ) as [ToolCallParse, ToolCallParse];
    const results = [
      { call: first, result: { ok: true as const, output: 'Page 1: a' } },
      {
        call: second,
        result: { ok: false as const, error: { code: 'unknown-tool' as const, message: 'no bash' } },
      },
    ];
    expect(protocol.formatResults(results)).toBe(
      '\n<tool_response>\nPage 1: a\n</tool_response>\n<tool_response>\nError (unknown-tool): no bash\n</tool_response>\n',
    );
    expect(createHermesJsonProtocol(qwenChatResultWrapping).formatResults(results.slice(0, 1))).toBe(
      '<|im_end|>\n<|im_start|>user\n<tool_response>\nPage 1: a\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('describes tools with the Qwen2.5 tool prompt', () => {
    const text = protocol.describeTools?.(tools) ?? '';
    expect(text).toContain(
      '<tools>\n{"type":"function","function":{"name":"search","description":"Searches the web."',
    );
    expect(text).toContain('{"name": <function-name>, "arguments": <args-json-object>}');
  });
});

describe('hermes-json parse never throws (property)', () => {
  const fragments = [
    '<tool_call>',
    '</tool_call>',
    '{',
    '}',
    '[',
    ']',
    '"name"',
    '"arguments"',
    ':',
    ',',
    '"search"',
    '"python"',
    '"bash"',
    'null',
    '"\\u0000"',
    '```json',
    '```',
    '\n',
  ];

  it('returns well-formed parses for arbitrary JSON-ish soup', () => {
    const turn = fc
      .array(fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 6 }), fc.json({ maxDepth: 2 })), {
        maxLength: 30,
      })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(turn, fc.option(fc.constant('</tool_call>'), { nil: undefined }), (text, stop) => {
        const calls = protocol.parse(text, stop === undefined ? { tools } : { tools, stopString: stop });
        for (const call of calls) {
          expect(`${text}${stop ?? ''}`).toContain(call.raw);
          if (call.kind === 'malformed') expect(toolErrorCodes).toContain(call.error.code);
          else expect(['search', 'python']).toContain(call.toolName);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('finds every well-formed call in generated turns', () => {
    const call = fc.record({
      name: fc.constantFrom('search', 'python'),
      arguments: fc.dictionary(fc.string(), fc.jsonValue()),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 5 }), call), { maxLength: 5 }), (parts) => {
        const cleaned = parts.map(([prose, value]) => [prose.replace(/</g, ''), value] as const);
        const text = cleaned
          .map(([prose, value]) => `${prose}<tool_call>${JSON.stringify(value)}</tool_call>`)
          .join('');
        const calls = protocol.parse(text, { tools });
        expect(calls.map((parsed) => (parsed.kind === 'call' ? parsed.toolName : 'malformed'))).toEqual(
          cleaned.map(([, value]) => value.name),
        );
      }),
      { numRuns: 500 },
    );
  });
});
