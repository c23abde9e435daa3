// A tiny agent setting for the report's real-data example and tests: a byte-level 1-layer transformer (random
// init, as in @arpo/trainer's toy setup) and one real tool. Any digit the model writes is a call of the
// `square` tool (the protocol stops at digits), whose result is appended as `<result>81</result>`, so even an
// untrained model makes tool calls and ARPO's sampler has tool turns to branch after.
import { join } from 'node:path';
import type { RewardFunction, Task, Tool, ToolCallProtocol } from '@arpo/core';
import { NativePolicy } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { createByteTokenizer, createScriptedTool } from '@arpo/testing';
import { LocalTrainerBackend } from '@arpo/trainer';

const digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** A digit ends the model's turn and calls `square` on it. */
export const digitSquareProtocol: ToolCallProtocol = {
  name: 'digit-square',
  stopStrings: digits,
  parse: (_turnText, context) =>
    context.stopString !== undefined && digits.includes(context.stopString)
      ? [
          {
            kind: 'call',
            toolName: 'square',
            input: { digit: Number(context.stopString) },
            raw: context.stopString,
          },
        ]
      : [],
  formatResults: (results) =>
    results
      .map(({ result }) =>
        result.ok ? `<result>${result.output}</result>` : `<error>${result.error.message}</error>`,
      )
      .join(''),
};

export function createSquareTool(): Tool {
  return createScriptedTool({
    name: 'square',
    description: 'Squares a digit.',
    respond: (input) => String((input as { digit: number }).digit ** 2),
  });
}

/**
 * Reward = share of lower-case ASCII letters in the response (tool results count too); a response is
 * "correct" when at least half of it is lower-case letters.
 */
export const lowerCaseShareReward: RewardFunction = {
  name: 'lower-case-share',
  compute: ({ responseText }) => {
    const letters = [...responseText].filter((character) => character >= 'a' && character <= 'z').length;
    const share = responseText.length === 0 ? 0 : letters / responseText.length;
    return { total: share, components: { correct: share >= 0.5 ? 1 : 0 } };
  },
};

export function toyTasks(options: { count: number; prefix: string }): Task[] {
  return Array.from({ length: options.count }, (_, index) => ({
    id: `${options.prefix}${index}`,
    prompt: [{ role: 'user', content: `go ${options.prefix}${index}` }],
    references: [],
    tools: [],
  }));
}

/** The tiny policy, its local trainer and the tool environment. Every call builds the same initial weights. */
export async function createToyEnvironment(options: { directory: string }) {
  const tokenizer = createByteTokenizer();
  const model = new DecoderTransformer({
    vocabSize: tokenizer.vocabularySize,
    contextLength: 96,
    modelDim: 32,
    layers: 1,
    heads: 2,
  });
  const parameters = model.initializeParameters({ seed: 1 });
  const policy = await NativePolicy.create({ model, parameters, tokenizer, seed: 1 });
  const backend = new LocalTrainerBackend({
    model,
    parameters,
    policy,
    directory: join(options.directory, 'checkpoints'),
  });
  const tools = [createSquareTool()];
  return {
    tokenizer,
    model,
    policy,
    backend,
    environment: { policy, tools, protocol: digitSquareProtocol, reward: lowerCaseShareReward },
    async close() {
      await backend.close();
      await policy.close();
    },
  };
}
