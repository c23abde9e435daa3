import {
  InvalidArgumentError,
  type MalformedToolCall,
  type ToolCallParse,
  type ToolCallProtocol,
  type ToolErrorInfo,
  type ToolSpec,
} from '@arpo/core';
import { type CallBudget, type CallLimits, createCallBudget } from './call-budget.js';
import { formatToolError } from './format-tool-error.js';
import { tidyTagBody } from './tidy-tag-body.js';
import { toolInputFromText } from './tool-input-from-text.js';

export interface ArpoTagProtocolOptions {
  /**
   * The call tags: tool names (the tag is the tool name, `<python>` calls `python`) or a map from tag to tool
   * name (`{ python: 'python_sandbox' }`). Default `['python', 'search']`, the reference ARPO tools.
   */
  tags?: readonly string[] | Readonly<Record<string, string>>;
  /** Tags that are prose, never calls. Default `['think', 'answer', 'result']`. */
  textTags?: readonly string[];
  /** The final-answer tag; a turn containing `<answer>` and no complete call makes no call. Default `answer`. */
  answerTag?: string;
  /** The tag results come back in. Default `result`. */
  resultTag?: string;
  /**
   * Text before each result block. Default `' '`: the reference ARPO rollout appends
   * `" <result>\n{output}\n</result>"` right after the closing call tag.
   */
  resultPrefix?: string;
  /** How a tool error reads inside `<result>`. Default `Error (<code>): <message>`. */
  formatError?: (error: ToolErrorInfo) => string;
  /** Input field that receives a tag's body, by tool name. Default: read from the tool's input schema. */
  inputFields?: Readonly<Record<string, string>>;
  /**
   * Tidy a tag's body before it becomes the input (default true): blank lines around it dropped, one Markdown
   * code fence unwrapped, common indentation removed (see `tidyTagBody`). `false` passes the body verbatim.
   */
  tidyBody?: boolean;
  /**
   * Report a complete `<foo>…</foo>` pair outside `<think>` whose tag is neither a call tag nor a text tag as an
   * `unknown-tool` call (for example `<bash>ls</bash>`), so the model learns it does not exist. Default true.
   */
  reportUnknownTags?: boolean;
  /** Per-trajectory call limits, exposed for the agent loop through `createCallBudget`. */
  callLimits?: CallLimits;
}

/** The ARPO tag protocol, with what an agent loop needs beyond `ToolCallProtocol`. */
export interface ArpoTagProtocol extends ToolCallProtocol {
  /** Tag → tool name. */
  readonly tags: ReadonlyMap<string, string>;
  readonly callLimits: CallLimits | undefined;
  /** A fresh per-trajectory budget over `callLimits`. */
  createCallBudget(): CallBudget;
}

const tagNamePattern = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const anyOpeningTag = /<([A-Za-z_][A-Za-z0-9_.-]{0,63})>/g;

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

/** Replaces `<think>…</think>` blocks (and an unclosed one to the end) by spaces, keeping offsets. */
function maskThinking(text: string, tag: string): string {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  let result = '';
  let position = 0;
  while (position < text.length) {
    const start = text.indexOf(open, position);
    if (start < 0) break;
    const end = text.indexOf(close, start + open.length);
    const stop = end < 0 ? text.length : end + close.length;
    result += text.slice(position, start) + ' '.repeat(stop - start);
    position = stop;
  }
  return result + text.slice(position);
}

/**
 * The ARPO tag protocol: the model writes `<python>code</python>` or `<search>query</search>`, generation stops
 * at the closing tag, and the result is appended as ` <result>\n{output}\n</result>`. One call per turn (the
 * first complete one: generation stops there). Malformed calls (closing tag without opening, empty body,
 * unknown tool, nested call tags, a call tag left open, an unknown `<tag>…</tag>`) come back as
 * `MalformedToolCall`s; `parse` never throws.
 */
export function createArpoTagProtocol(options: ArpoTagProtocolOptions = {}): ArpoTagProtocol {
  const tagOption = options.tags ?? ['python', 'search'];
  const tags = new Map<string, string>(
    Array.isArray(tagOption)
      ? (tagOption as readonly string[]).map((tag) => [tag, tag])
      : Object.entries(tagOption as Readonly<Record<string, string>>),
  );
  const textTags = new Set(options.textTags ?? ['think', 'answer', 'result']);
  const answerTag = options.answerTag ?? 'answer';
  const resultTag = options.resultTag ?? 'result';
  textTags.add(answerTag);
  textTags.add(resultTag);
  if (tags.size === 0)
    throw new InvalidArgumentError({ argument: 'tags', message: 'at least one call tag is needed' });
  for (const tag of [...tags.keys(), answerTag, resultTag, ...textTags]) {
    if (!tagNamePattern.test(tag)) {
      throw new InvalidArgumentError({
        argument: 'tags',
        message: `'${tag}' is not a valid tag name (${tagNamePattern})`,
      });
    }
  }
  for (const tag of tags.keys()) {
    if (textTags.has(tag)) {
      throw new InvalidArgumentError({
        argument: 'tags',
        message: `'${tag}' cannot be both a call tag and a text tag`,
      });
    }
  }
  const resultPrefix = options.resultPrefix ?? ' ';
  const formatError = options.formatError ?? formatToolError;
  const tidyBody = options.tidyBody ?? true;
  const reportUnknownTags = options.reportUnknownTags ?? true;
  const callTags = [...tags.keys()];
  const closingTags = new Map(callTags.map((tag) => [`</${tag}>`, tag]));
  const tagList = callTags.map((tag) => `<${tag}>`).join(', ');

  const parseTurn = (turnText: string, context: { tools: readonly ToolSpec[]; stopString?: string }) => {
    let text = turnText;
    // Some runtimes drop the stop string from the output; put it back so the call is complete.
    if (
      context.stopString !== undefined &&
      closingTags.has(context.stopString) &&
      !text.endsWith(context.stopString)
    ) {
      text += context.stopString;
    }

    let closing: { tag: string; index: number } | undefined;
    for (const tag of callTags) {
      const index = text.indexOf(`</${tag}>`);
      if (index >= 0 && (closing === undefined || index < closing.index)) closing = { tag, index };
    }

    if (closing !== undefined) {
      const { tag, index } = closing;
      const open = `<${tag}>`;
      const close = `</${tag}>`;
      const toolName = tags.get(tag) as string;
      const openIndex = index - open.length < 0 ? -1 : text.lastIndexOf(open, index - open.length);
      if (openIndex < 0) {
        return [
          malformed(
            text.slice(0, index + close.length),
            'malformed-call',
            `found ${close} without an opening ${open}; write ${open}…${close}`,
            toolName,
          ),
        ];
      }
      const raw = text.slice(openIndex, index + close.length);
      const body = text.slice(openIndex + open.length, index);
      for (const other of callTags) {
        if (other !== tag && body.includes(`<${other}>`) && !body.includes(`</${other}>`)) {
          return [
            malformed(
              raw,
              'malformed-call',
              `<${other}> was opened inside ${open}; make one call at a time`,
              toolName,
            ),
          ];
        }
      }
      const content = tidyBody ? tidyTagBody(body) : body;
      if (content.trim() === '') {
        return [
          malformed(
            raw,
            'malformed-call',
            `${open}${close} is empty; put the ${toolName} input between the tags`,
            toolName,
          ),
        ];
      }
      const spec = context.tools.find((tool) => tool.name === toolName);
      if (spec === undefined) {
        const available = context.tools.map((tool) => tool.name).join(', ') || 'none';
        return [
          malformed(
            raw,
            'unknown-tool',
            `tool '${toolName}' is not available here (available: ${available})`,
            toolName,
          ),
        ];
      }
      return [
        {
          kind: 'call' as const,
          toolName,
          input: toolInputFromText(content, spec, options.inputFields?.[toolName]),
          raw,
        },
      ];
    }

    if (text.includes(`<${answerTag}>`)) return [];

    let unclosed: { tag: string; index: number } | undefined;
    for (const tag of callTags) {
      const index = text.lastIndexOf(`<${tag}>`);
      if (index >= 0 && (unclosed === undefined || index > unclosed.index)) unclosed = { tag, index };
    }
    if (unclosed !== undefined) {
      const { tag, index } = unclosed;
      return [
        malformed(
          text.slice(index),
          'malformed-call',
          `<${tag}> was opened but never closed with </${tag}>`,
          tags.get(tag),
        ),
      ];
    }

    if (reportUnknownTags) {
      const masked = maskThinking(text, 'think');
      const lastClose = new Map<string, number>();
      for (const match of masked.matchAll(anyOpeningTag)) {
        const name = match[1] as string;
        if (textTags.has(name) || tags.has(name)) continue;
        let closeIndex = lastClose.get(name);
        if (closeIndex === undefined) {
          closeIndex = masked.lastIndexOf(`</${name}>`);
          lastClose.set(name, closeIndex);
        }
        const start = match.index ?? 0;
        if (closeIndex > start) {
          const raw = text.slice(start, masked.indexOf(`</${name}>`, start) + name.length + 3);
          return [malformed(raw, 'unknown-tool', `<${name}> is not a tool; call tags are ${tagList}`, name)];
        }
      }
    }
    return [];
  };

  return {
    name: 'arpo-tags',
    stopStrings: callTags.map((tag) => `</${tag}>`),
    tags,
    callLimits: options.callLimits,
    createCallBudget: () => createCallBudget(options.callLimits),
    parse(turnText, context): ToolCallParse[] {
      try {
        if (typeof turnText !== 'string') {
          return [malformed(String(turnText), 'malformed-call', 'model turn is not text')];
        }
        return parseTurn(turnText, {
          tools: Array.isArray(context?.tools) ? context.tools : [],
          stopString: context?.stopString,
        });
      } catch (error) {
        // A safety net: parsing must never end a rollout.
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
      return results
        .map(({ result }) => {
          const body = result.ok ? result.output : formatError(result.error);
          return `${resultPrefix}<${resultTag}>\n${body}\n</${resultTag}>`;
        })
        .join('');
    },
    describeTools(tools) {
      const lines = [
        'You can call tools while you reason. Write a call as the tool input between its tags; your turn stops at the',
        `closing tag, and the result comes back between <${resultTag}> and </${resultTag}>. Make one call at a time.`,
        '',
      ];
      for (const [tag, toolName] of tags) {
        const tool = tools.find((candidate) => candidate.name === toolName);
        if (tool !== undefined) lines.push(`- <${tag}> … </${tag}>: ${tool.description.trim()}`);
      }
      lines.push(
        '',
        `Reason inside <think> … </think>. Give the final answer inside <${answerTag}> … </${answerTag}>.`,
      );
      return lines.join('\n');
    },
  };
}
