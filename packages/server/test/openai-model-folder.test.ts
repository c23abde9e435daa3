import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportHuggingFaceModel, NativePolicy, trainByteLevelBpe } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { describe, expect, it } from 'vitest';
import { loadServedPolicy } from '../src/index.js';

describe('loadServedPolicy', () => {
  it('serves an exported model with NativePolicy and the same weights (same tokens as the original)', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-serve-model-'));
    try {
      const tokenizer = trainByteLevelBpe({
        corpus: ['one two three', 'four five six'],
        vocabularySize: 280,
      });
      const model = new DecoderTransformer({
        vocabSize: tokenizer.vocabularySize,
        contextLength: 64,
        modelDim: 32,
        layers: 1,
        heads: 2,
      });
      const parameters = model.initializeParameters({ seed: 3 });
      await exportHuggingFaceModel({ model, parameters, tokenizer, folder: directory });
      const original = await NativePolicy.create({ model, parameters, tokenizer, threads: 1 });
      const { policy, runtime } = await loadServedPolicy({ folder: directory, threads: 1 });
      expect(runtime).toBe('native');
      expect(policy.contextLength).toBe(64);
      const prompt = tokenizer.encode('one two', { addSpecialTokens: true });
      expect(Array.from(policy.tokenizer.encode('one two', { addSpecialTokens: true }))).toEqual(
        Array.from(prompt),
      );
      const request = { promptTokenIds: prompt, sampling: { maxTokens: 12, seed: 8 } };
      const [served] = await policy.generate([request]);
      const [expected] = await original.generate([request]);
      expect(Array.from(served?.sequences[0]?.tokenIds ?? [])).toEqual(
        Array.from(expected?.sequences[0]?.tokenIds ?? []),
      );
      await policy.close?.();
      await original.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
