import type { RewardFunction, Task, ToolCallProtocol } from '@arpo/core';
import { NativePolicy } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { createByteTokenizer } from '@arpo/testing';
import { LocalTrainerBackend } from '../../src/engine/local-trainer-backend.js';

/** A protocol with no tools: turns end only at EOS or the length limit. */
export const noTools: ToolCallProtocol = {
  name: 'none',
  stopStrings: [],
  parse: () => [],
  formatResults: () => '',
};

/** Reward = share of lower-case letters in the response (about 10% of a random byte model's output). */
export const lowerCaseReward: RewardFunction = {
  name: 'lower-case',
  compute: ({ responseText }) => {
    const letters = [...responseText].filter((character) => character >= 'a' && character <= 'z').length;
    return { total: responseText.length === 0 ? 0 : letters / responseText.length, components: {} };
  },
};

export function toyTasks(count: number): Task[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `t${index}`,
    prompt: [{ role: 'user', content: `go ${index}` }],
    references: [],
    tools: [],
  }));
}

/** A tiny byte-level policy and its local trainer, for fast RL loop tests. */
export async function createToySetup(directory: string) {
  const tokenizer = createByteTokenizer();
  const model = new DecoderTransformer({
    vocabSize: tokenizer.vocabularySize,
    contextLength: 32,
    modelDim: 32,
    layers: 1,
    heads: 2,
  });
  const parameters = model.initializeParameters({ seed: 1 });
  const policy = await NativePolicy.create({ model, parameters, tokenizer, seed: 1 });
  const backend = new LocalTrainerBackend({ model, parameters, policy, directory });
  return { tokenizer, model, parameters, policy, backend };
}
