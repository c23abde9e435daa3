import { RemotePolicy } from '@arpo/policy';
import type { CreateRolloutEnvironment } from '@arpo/rollout';
import { createByteTokenizer } from '@arpo/testing';
import { createEchoTool, echoProtocol } from './echo-protocol.js';

/** The header a worker's requests carry with `tagRequests` (so a test proxy knows which worker sent what). */
export const workerHeader = 'x-arpo-worker';

/** A rollout worker's environment: a RemotePolicy on the endpoints given by the parent, and the echo tool. */
export const createRolloutEnvironment: CreateRolloutEnvironment = async ({ setup, workerIndex }) => {
  const { endpoints, model, delayMs, tagRequests } = setup as {
    endpoints: string[];
    model: string;
    delayMs?: number;
    tagRequests?: boolean;
  };
  const policy = await RemotePolicy.create({
    endpoints,
    model,
    tokenizer: createByteTokenizer(),
    ...(tagRequests === true
      ? {
          fetch: (input: string | URL | Request, init?: RequestInit) =>
            fetch(input, {
              ...init,
              headers: { ...(init?.headers as Record<string, string>), [workerHeader]: String(workerIndex) },
            }),
        }
      : {}),
  });
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
