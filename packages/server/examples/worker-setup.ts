// The environment of each rollout worker process of the distributed example: a RemotePolicy on the endpoints
// the parent passes, the tokenizer read from the served model folder, and a small tool.
import type { ToolCallProtocol } from '@arpo/core';
import { loadHuggingFaceTokenizer, RemotePolicy } from '@arpo/policy';
import type { CreateRolloutEnvironment } from '@arpo/rollout';

/** An untrained model ends turns at frequent letters, which here "call" a tool that counts characters. */
const protocol: ToolCallProtocol = {
  name: 'count-on-letter',
  stopStrings: ['a', 'e', 'o', 's', 't'],
  parse: (text, context) =>
    context.stopString === undefined
      ? []
      : [{ kind: 'call', toolName: 'count', input: { text: text.slice(-8) }, raw: text }],
  formatResults: (results) =>
    results.map(({ result }) => `[${result.ok ? result.output : 'error'}]`).join(''),
};

export const createRolloutEnvironment: CreateRolloutEnvironment = async ({ setup }) => {
  const { endpoints, model, folder } = setup as { endpoints: string[]; model: string; folder: string };
  const tokenizer = await loadHuggingFaceTokenizer(folder);
  const policy = await RemotePolicy.create({ endpoints, model, tokenizer });
  return {
    policy,
    protocol,
    tools: [
      {
        name: 'count',
        description: 'Counts characters',
        inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
        execute: async (input) => ({ ok: true, output: String((input as { text: string }).text.length) }),
      },
    ],
    close: () => policy.close(),
  };
};
