import type { ToolCallProtocol } from '@arpo/core';
import { createScriptedTool } from '@arpo/testing';

/**
 * A protocol an untrained byte model triggers often: a turn ends at a frequent letter and calls the `echo` tool with
 * the turn's last characters. Gives multi-turn trajectories with tool results (and so ARPO branches) without
 * training a model to write real tool tags.
 */
export const echoProtocol: ToolCallProtocol = {
  name: 'echo-on-vowel',
  stopStrings: ['a', 'e', 'i', 'o', 'u', 't', 'n', 's'],
  parse: (turnText, context) =>
    context.stopString === undefined
      ? []
      : [{ kind: 'call', toolName: 'echo', input: { input: turnText.slice(-4) }, raw: turnText }],
  formatResults: (results) =>
    results.map(({ result }) => `[${result.ok ? result.output : 'error'}]`).join(''),
};

export function createEchoTool() {
  return createScriptedTool({
    name: 'echo',
    respond: (input) => `${((input as { input?: string }).input ?? '').length}`,
  });
}
