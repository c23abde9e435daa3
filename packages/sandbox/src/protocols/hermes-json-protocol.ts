import type { MalformedToolCall, ToolCallParse, ToolCallProtocol, ToolErrorInfo, ToolSpec } from '@arpo/core';
import { type CallBudget, type CallLimits, createCallBudget } from './call-budget.js';
import { formatToolError } from './format-tool-error.js';

export interface HermesJsonProtocolOptions {
  /**
   * Stop generation at every `</tool_call>` (one call per turn, like ReSearch and verl's agent loop). Default
   * false: the model may write several calls and the turn ends at its end-of-turn token.
   */
  stopAtEachCall?: boolean;
  /** Text before the result blocks. Default `''`. See `qwenChatResultWrapping` for chat-formatted streams. */
  resultsPrefix?: string;
  /** Text after the result blocks. Default `'\n'`. */
  resultsSuffix?: string;
  /** How a tool error reads inside `<tool_response>`. Default `Error (<code>): <message>`. */
  formatError?: (error: ToolErrorInfo) => string;
  /** Per-trajectory call limits, exposed for the agent loop through `createCallBudget`. */
  callLimits?: CallLimits;
}

/** The Hermes JSON protocol, with what an agent loop needs beyond `ToolCallProtocol`. */
export interface HermesJsonProtocol extends ToolCallProtocol {
  readonly callLimits: CallLimits | undefined;
  createCallBudget(): CallBudget;
}

/**
 * Result wrapping for a raw token stream in the Qwen2.5 chat format: the tool responses form a `user` turn, as
 * Qwen's chat template renders `tool` messages, and a new assistant turn opens after them.
 */
export const qwenChatResultWrapping = {
  resultsPrefix: '<|im_end|>\n<|im_start|>user',
  resultsSuffix: '<|im_end|>\n<|im_start|>assistant\n',
} as const;

const openTag = '<tool_call>';
const closeTag = '</tool_call>';

function malformed(
  raw: string,
  code: 'malformed-call' | 'unknown-tool',
  message: string,
  toolName?: string,
): MalformedToolCall {
  const call: MalformedToolCall = { kind: 'malformed', raw, error: { code, message } };
  if (toolName !== undefined) call.toolName = toolName;
  return call;
}

function describeType(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** One `{ name, arguments }` object (or a malformed call). */
function readCall(value: unknown, raw: string, tools: readonly ToolSpec[]): ToolCallParse {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return malformed(
      raw,
      'malformed-call',
      `a tool call must be a JSON object {"name": …, "arguments": …}, got ${describeType(value)}`,
    );
  }
  const record = value as Record<string, unknown>;
  const name = record.name;
  if (typeof name !== 'string' || name.trim() === '') {
    return malformed(raw, 'malformed-call', 'the tool call has no "name" string');
  }
  let input = record.arguments ?? record.parameters ?? {};
  if (typeof input === 'string') {
    // OpenAI-style calls carry arguments as a JSON string; a plain string stays a string (a bare search query).
    try {
      const parsed: unknown = JSON.parse(input);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) input = parsed;
    } catch {
      // not JSON: keep the string
    }
  } else if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return malformed(
      raw,
      'malformed-call',
      `"arguments" of '${name}' must be an object, got ${describeType(input)}`,
      name,
    );
  }
  if (!tools.some((tool) => tool.name === name)) {
    const available = tools.map((tool) => tool.name).join(', ') || 'none';
    return malformed(raw, 'unknown-tool', `tool '${name}' does not exist (available: ${available})`, name);
  }
  return { kind: 'call', toolName: name, input, raw };
}

function parseBody(body: string, raw: string, tools: readonly ToolSpec[]): ToolCallParse[] {
  let json = body.trim();
  // Models sometimes fence the JSON in Markdown.
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/.exec(json);
  if (fenced) json = (fenced[1] as string).trim();
  if (json === '')
    return [
      malformed(
        raw,
        'malformed-call',
        `${openTag}${closeTag} is empty; write {"name": …, "arguments": …} inside`,
      ),
    ];
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    const guess = /"name"\s*:\s*"([^"]{1,64})"/.exec(json)?.[1];
    return [
      malformed(raw, 'malformed-call', `invalid JSON in ${openTag}: ${(error as Error).message}`, guess),
    ];
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [malformed(raw, 'malformed-call', `${openTag} holds an empty list`)];
    return value.map((item) => readCall(item, raw, tools));
  }
  return [readCall(value, raw, tools)];
}

/**
 * The Hermes / Qwen function-call protocol: `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, several per
 * turn allowed, results as `<tool_response>\n{output}\n</tool_response>` blocks (each preceded by a newline, as
 * Qwen's chat template writes them). Invalid JSON, a missing name, non-object arguments, an unknown tool or an
 * unclosed `<tool_call>` become `MalformedToolCall`s; `parse` never throws.
 */
export function createHermesJsonProtocol(options: HermesJsonProtocolOptions = {}): HermesJsonProtocol {
  const formatError = options.formatError ?? formatToolError;
  const resultsPrefix = options.resultsPrefix ?? '';
  const resultsSuffix = options.resultsSuffix ?? '\n';
  const stopStrings = options.stopAtEachCall === true ? [closeTag] : [];

  const parseTurn = (turnText: string, tools: readonly ToolSpec[], stopString?: string): ToolCallParse[] => {
    let text = turnText;
    if (stopString === closeTag && !text.endsWith(closeTag)) text += closeTag;
    const calls: ToolCallParse[] = [];
    let position = 0;
    for (;;) {
      const start = text.indexOf(openTag, position);
      if (start < 0) break;
      const end = text.indexOf(closeTag, start + openTag.length);
      if (end < 0) {
        calls.push(
          malformed(
            text.slice(start),
            'malformed-call',
            `${openTag} was opened but never closed with ${closeTag}`,
          ),
        );
        break;
      }
      const raw = text.slice(start, end + closeTag.length);
      calls.push(...parseBody(text.slice(start + openTag.length, end), raw, tools));
      position = end + closeTag.length;
    }
    if (calls.length === 0) {
      const stray = text.indexOf(closeTag);
      if (stray >= 0) {
        calls.push(
          malformed(
            text.slice(0, stray + closeTag.length),
            'malformed-call',
            `found ${closeTag} without an opening ${openTag}`,
          ),
        );
      }
    }
    return calls;
  };

  return {
    name: 'hermes-json',
    stopStrings,
    callLimits: options.callLimits,
    createCallBudget: () => createCallBudget(options.callLimits),
    parse(turnText, context): ToolCallParse[] {
      try {
        if (typeof turnText !== 'string')
          return [malformed(String(turnText), 'malformed-call', 'model turn is not text')];
        return parseTurn(turnText, Array.isArray(context?.tools) ? context.tools : [], context?.stopString);
      } catch (error) {
        return [
          malformed(
            String(turnText),
            'malformed-call',
            `could not parse the turn: ${(error as Error)?.message ?? String(error)}`,
          ),
        ];
      }
    },
    formatResults(results) {
      const blocks = results.map(({ result }) => {
        const body = result.ok ? result.output : formatError(result.error);
        return `\n<tool_response>\n${body}\n</tool_response>`;
      });
      return `${resultsPrefix}${blocks.join('')}${resultsSuffix}`;
    },
    describeTools(tools) {
      // The tool section of Qwen2.5's chat template, which Hermes-format models are trained on.
      const signatures = tools.map((tool) =>
        JSON.stringify({
          type: 'function',
          function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
        }),
      );
      return [
        '# Tools',
        '',
        'You may call one or more functions to assist with the user query.',
        '',
        'You are provided with function signatures within <tools></tools> XML tags:',
        '<tools>',
        ...signatures,
        '</tools>',
        '',
        'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:',
        '<tool_call>',
        '{"name": <function-name>, "arguments": <args-json-object>}',
        '</tool_call>',
      ].join('\n');
    },
  };
}
