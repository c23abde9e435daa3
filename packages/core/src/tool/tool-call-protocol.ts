import type { ToolErrorInfo, ToolResult } from './tool.js';

/** A call the protocol found in model text. */
export interface ParsedToolCall {
  kind: 'call';
  toolName: string;
  input: unknown;
  /** The exact text of the call as the model wrote it. */
  raw: string;
}

/** Something that looked like a call but cannot be run; it is fed back to the model as a tool error. */
export interface MalformedToolCall {
  kind: 'malformed';
  /** The tool the model seemed to mean, when it can be told. */
  toolName?: string;
  raw: string;
  error: ToolErrorInfo;
}

export type ToolCallParse = ParsedToolCall | MalformedToolCall;

/** What a tool description looks like to a protocol (enough to render a system prompt). */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/**
 * Turns model text into tool calls and tool results back into text. The agent loop generates until one of
 * `stopStrings`, asks `parse` for the calls in the turn just generated, runs them, and appends `formatResults`.
 */
export interface ToolCallProtocol {
  readonly name: string;
  /** Strings that end a model turn because a call is complete (for example `</python>`). Kept in the stream. */
  readonly stopStrings: readonly string[];
  /**
   * Calls in one model turn. `stopString` is the stop string that ended the turn, if any. Returns an empty list
   * when the turn makes no call (a final answer). Never throws on model text.
   */
  parse(turnText: string, context: { tools: readonly ToolSpec[]; stopString?: string }): ToolCallParse[];
  /** The text appended after the turn: the results of its calls, in call order. */
  formatResults(results: readonly { call: ToolCallParse; result: ToolResult }[]): string;
  /** Optional system-prompt text that teaches the model the call format and the tools. */
  describeTools?(tools: readonly ToolSpec[]): string;
}
