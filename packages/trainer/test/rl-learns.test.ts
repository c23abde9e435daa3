import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task, ToolCallProtocol } from '@arpo/core';
import { NativePolicy } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { createByteTokenizer } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { LocalTrainerBackend } from '../src/engine/local-trainer-backend.js';
import { runRlStep } from '../src/loops/rl-step.js';

const noTools: ToolCallProtocol = { name: 'none', stopStrings: [], parse: () => [], formatResults: () => '' };

// The whole RL loop must move the policy towards reward: here reward = share of lower-case letters in the response
// (about 10% of a random byte model's output).
describe('RL loop', () => {
  it('raises the reward of a toy task within a few steps', async () => {
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
    const backend = new LocalTrainerBackend({
      model,
      parameters,
      policy,
      directory: mkdtempSync(join(tmpdir(), 'arpo-rl-')),
    });
    const tasks: Task[] = Array.from({ length: 4 }, (_, index) => ({
      id: `t${index}`,
      prompt: [{ role: 'user', content: `go ${index}` }],
      references: [],
      tools: [],
    }));
    const reward = {
      name: 'lower-case',
      compute: ({ responseText }: { responseText: string }) => {
        const letters = [...responseText].filter((character) => character >= 'a' && character <= 'z').length;
        const share = responseText.length === 0 ? 0 : letters / responseText.length;
        return { total: share, components: {} };
      },
    };
    const rewards: number[] = [];
    for (let step = 0; step < 12; step++) {
      const result = await runRlStep({
        step,
        seed: step,
        backend,
        environment: { policy, tools: [], protocol: noTools, reward },
        tasks,
        algorithm: {
          name: 'grpo',
          sampler: { kind: 'independent', trajectoriesPerPrompt: 8 },
          estimator: 'grpo',
          loss: { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.2 },
          optimizer: { learningRate: 1e-2 },
          rollout: { maxResponseTokens: 12 },
        },
      });
      rewards.push(result.metrics.reward!);
    }
    const first = (rewards[0]! + rewards[1]! + rewards[2]!) / 3;
    const last = (rewards[9]! + rewards[10]! + rewards[11]!) / 3;
    expect(last).toBeGreaterThan(first * 2);
    await backend.close();
    await policy.close();
  }, 60_000);
});
