import type { ToolCallParse, ToolCallProtocol, ToolResult } from '@arpo/core';
import {
  createByteTokenizer,
  createScriptedPolicy,
  createScriptedTool,
  type ScriptContext,
} from '@arpo/testing';
import type { RolloutPrompt } from '../src/index.js';

/** A minimal `<python>…</python>` tag protocol for control-logic tests (the real one lives in @arpo/sandbox). */
export const testProtocol: ToolCallProtocol = {
  name: 'test-tags',
  stopStrings: ['</python>'],
  parse(turnText) {
    const open = turnText.lastIndexOf('<python>');
    if (open < 0 || !turnText.endsWith('</python>')) return [];
    const body = turnText.slice(open + '<python>'.length, -'</python>'.length);
    if (body.trim() === '' || body.includes('GARBAGE')) {
      const malformed: ToolCallParse = {
        kind: 'malformed',
        toolName: 'python',
        raw: body,
        error: { code: 'malformed-call', message: 'empty or garbled call' },
      };
      return [malformed];
    }
    return [{ kind: 'call', toolName: 'python', input: body, raw: body }];
  },
  formatResults(results: readonly { result: ToolResult }[]) {
    return results
      .map(({ result }) => `<result>${result.ok ? result.output : `error: ${result.error.message}`}</result>`)
      .join('');
  },
};

export const tokenizer = createByteTokenizer();

export function prompt(promptId: string, text = `Q ${promptId}`): RolloutPrompt {
  return { promptId, promptTokenIds: tokenizer.encode(text, { addSpecialTokens: true }) };
}

/** Count of tool results already in the context: the turn number of the script. */
export function resultsIn(context: ScriptContext): number {
  return context.contextText.split('<result>').length - 1;
}

export function pythonTool() {
  return createScriptedTool({ name: 'python', respond: (input) => `ran ${String(input).length}` });
}

/** A policy that calls python `calls` times, then answers. */
export function callingPolicy(options: {
  calls: number;
  entropy?: Parameters<typeof createScriptedPolicy>[0]['entropy'];
}) {
  return createScriptedPolicy({
    contextLength: 4096,
    respond: (context) =>
      resultsIn(context) < options.calls
        ? `<think>step ${resultsIn(context)} s${context.seed ?? 0}</think><python>x=${resultsIn(context)}</python>`
        : `<answer>\\boxed{${resultsIn(context)}}</answer>`,
    entropy: options.entropy,
  });
}
