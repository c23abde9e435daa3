import { RemotePolicy } from '@arpo/policy';
import type { CreateRolloutEnvironment } from '@arpo/rollout';
import { createByteTokenizer } from '@arpo/testing';
import { createEchoTool, echoProtocol } from './echo-protocol.js';

/** A rollout worker's environment: a RemotePolicy on the endpoints given by the parent, and the echo tool. */
export const createRolloutEnvironment: CreateRolloutEnvironment = async ({ setup }) => {
  const { endpoints, model, delayMs } = setup as { endpoints: string[]; model: string; delayMs?: number };
  const policy = await RemotePolicy.create({ endpoints, model, tokenizer: createByteTokenizer() });
  const tool = createEchoTool();
  return {
    policy,
    tools: [
      // Slow tools keep a worker busy long enough to be killed mid-prompt.
      {
        ...tool,
        execute: async (input, options) => {
          await new Promise((resolve) => setTimeout(resolve, delayMs ?? 0));
          return tool.execute(input, options);
        },
      },
    ],
    protocol: echoProtocol,
    close: () => policy.close(),
  };
};
