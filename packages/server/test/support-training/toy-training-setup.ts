import type { RewardFunction, Task, ToolCallProtocol } from '@arpo/core';
import { NativePolicy } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { createByteTokenizer } from '@arpo/testing';
import { LocalTrainerBackend, type RlAlgorithmSettings } from '@arpo/trainer';
import type { HostedModelParts, LocalModelFactory } from '../../src/training/hosted-model.js';

// The tiny RL setup of the trainer tests (byte tokenizer, 1-layer decoder), shared by the local run and the
// model factory the training API server hosts, so both start from identical weights.

export const toyBaseModel = 'arpo/toy-byte-decoder';

export const noTools: ToolCallProtocol = {
  name: 'none',
  stopStrings: [],
  parse: () => [],
  formatResults: () => '',
};

/** Reward = share of lower-case letters in the response. */
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

export function toyModelParts(): HostedModelParts {
  const tokenizer = createByteTokenizer();
  const model = new DecoderTransformer({
    vocabSize: tokenizer.vocabularySize,
    contextLength: 32,
    modelDim: 32,
    layers: 1,
    heads: 2,
  });
  return { model, parameters: model.initializeParameters({ seed: 1 }), tokenizer };
}

/** The server's factory: always the same base weights (the LoRA seed has nothing to initialise here). */
export const toyModelFactory: LocalModelFactory = async () => toyModelParts();

/** The in-process reference: the same model, policy and local trainer. */
export async function createLocalToySetup(directory: string) {
  const { model, parameters, tokenizer } = toyModelParts();
  const policy = await NativePolicy.create({ model, parameters, tokenizer, seed: 1 });
  const backend = new LocalTrainerBackend({ model, parameters, policy, directory });
  return { tokenizer, model, parameters, policy, backend };
}

/** GRPO with PPO epochs and mini-batches (several optimizer steps per RL step). */
export function toyAlgorithm(overrides: Partial<RlAlgorithmSettings> = {}): RlAlgorithmSettings {
  return {
    name: 'grpo',
    sampler: { kind: 'independent', trajectoriesPerPrompt: 4 },
    estimator: 'grpo',
    loss: { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.28 },
    optimizer: { learningRate: 1e-2, maxGradientNorm: 1 },
    rollout: { maxResponseTokens: 10 },
    ppoEpochs: 2,
    miniBatches: 2,
    ...overrides,
  };
}
