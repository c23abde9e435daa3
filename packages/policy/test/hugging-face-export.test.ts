import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@arpo/core';
import { DecoderTransformer, type TensorValue } from '@arpo/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ByteLevelBpeTokenizer,
  exportHuggingFaceModel,
  ModelFolderError,
  NativePolicy,
  TransformersPolicy,
} from '../src/index.js';
import { createCorpus } from './fixtures/corpus.js';
import { trainFixtureTokenizer } from './fixtures/tiny-model-folder.js';
import { type TrainedModel, trainTinyDecoder } from './fixtures/trained-model.js';

let scratch: string;
let folder: string;
let tokenizer: ByteLevelBpeTokenizer;
let trained: TrainedModel;
let native: NativePolicy;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'arpo-policy-export-'));
  folder = join(scratch, 'exported');
  tokenizer = trainFixtureTokenizer(400);
  trained = await trainTinyDecoder({
    tokenizer,
    lines: createCorpus(),
    config: { contextLength: 64, modelDim: 32, layers: 2, heads: 4 },
    steps: 80,
  });
  await exportHuggingFaceModel({ model: trained.model, parameters: trained.parameters, tokenizer, folder });
  native = await NativePolicy.create({ model: trained.model, parameters: trained.parameters, tokenizer });
});
afterAll(async () => {
  await native?.close();
  await rm(scratch, { recursive: true, force: true });
});

const prompts = ['the agent', '<think>I should', 'python computes', 'a tool'];

describe('exportHuggingFaceModel', () => {
  it('writes config.json (gpt2), generation config, tokenizer files and onnx/model.onnx, atomically', async () => {
    expect((await readdir(folder)).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(await readdir(join(folder, 'onnx'))).toEqual(['model.onnx']);
    const config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'gpt2',
      vocab_size: tokenizer.vocabularySize,
      n_embd: 32,
      n_layer: 2,
      n_head: 4,
      n_positions: 64,
      n_inner: 128,
      activation_function: 'gelu',
      layer_norm_epsilon: 1e-5,
      tie_word_embeddings: true,
      bos_token_id: tokenizer.specialTokens.bos,
      eos_token_id: tokenizer.specialTokens.eos,
      pad_token_id: tokenizer.specialTokens.pad,
    });
    const generation = JSON.parse(await readFile(join(folder, 'generation_config.json'), 'utf8'));
    expect(generation.eos_token_id).toBe(tokenizer.specialTokens.eos);
    // Every weight is baked in: the file holds at least the float32 parameters.
    const bytes = (await readFile(join(folder, 'onnx', 'model.onnx'))).byteLength;
    expect(bytes).toBeGreaterThan(trained.model.parameterCount() * 4);
  });

  it('trains a model whose greedy outputs are non-trivial', () => {
    const first = trained.losses.slice(0, 5).reduce((sum, loss) => sum + loss, 0) / 5;
    const last = trained.losses.slice(-5).reduce((sum, loss) => sum + loss, 0) / 5;
    expect(last).toBeLessThan(first / 2);
  });

  it('@huggingface/transformers loads the export and greedy generate() equals NativePolicy token for token', async () => {
    const transformers = await import('@huggingface/transformers');
    const model = await transformers.AutoModelForCausalLM.from_pretrained(folder, { local_files_only: true });
    const hfTokenizer = await transformers.AutoTokenizer.from_pretrained(folder, { local_files_only: true });
    try {
      const texts = new Set<string>();
      for (const text of prompts) {
        const prompt = tokenizer.encode(text, { addSpecialTokens: true });
        const inputs = hfTokenizer(text);
        expect(Array.from((inputs.input_ids as { data: BigInt64Array }).data, Number)).toEqual(
          Array.from(prompt),
        );
        const output = (await model.generate({ ...inputs, max_new_tokens: 24, do_sample: false })) as {
          tolist(): bigint[][];
        };
        const expected = output.tolist()[0]?.slice(prompt.length).map(Number);
        const [result] = await native.generate([
          { promptTokenIds: prompt, sampling: { maxTokens: 24, temperature: 0 } },
        ]);
        const sequence = result!.sequences[0]!;
        expect(Array.from(sequence.tokenIds)).toEqual(expected);
        expect(sequence.tokenIds.length).toBeGreaterThan(3);
        texts.add(sequence.text);
      }
      // Trained, not random: distinct prompts give distinct, corpus-like continuations.
      expect(texts.size).toBe(prompts.length);
      expect([...texts].some((text) => text.includes('the capital of France'))).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  it('TransformersPolicy on the export reports the logprobs, entropies and samples of NativePolicy', async () => {
    const imported = await TransformersPolicy.load({ folder });
    try {
      const prompt = tokenizer.encode('<think>I should call', { addSpecialTokens: true });
      const sampling = { maxTokens: 20, temperature: 0.9, seed: 11 };
      const [ours] = await native.generate([{ promptTokenIds: prompt, sampling }]);
      const [theirs] = await imported.generate([{ promptTokenIds: prompt, sampling }]);
      const sequence = ours!.sequences[0]!;
      expect(Array.from(theirs!.sequences[0]!.tokenIds)).toEqual(Array.from(sequence.tokenIds));
      const item = { promptTokenIds: prompt, completionTokenIds: sequence.tokenIds };
      const [nativeScores] = await native.scoreTokens([item]);
      const [importedScores] = await imported.scoreTokens([item]);
      sequence.tokenIds.forEach((_, index) => {
        expect(importedScores!.logprobs[index]).toBeCloseTo(nativeScores!.logprobs[index]!, 4);
        expect(importedScores!.entropies[index]).toBeCloseTo(nativeScores!.entropies[index]!, 4);
        expect(theirs!.sequences[0]!.logprobs[index]).toBeCloseTo(sequence.logprobs[index]!, 4);
      });
    } finally {
      await imported.close();
    }
  });

  it('rejects bad arguments with typed errors naming the problem', async () => {
    const target = join(scratch, 'bad');
    const { model, parameters } = trained;
    const withParameters = (edit: (copy: Map<string, TensorValue>) => void) => {
      const copy = new Map(parameters);
      edit(copy);
      return exportHuggingFaceModel({ model, parameters: copy, tokenizer, folder: target });
    };
    const invalid = (argument: string, pattern: RegExp) => (error: unknown) =>
      InvalidArgumentError.isInstance(error) && error.argument === argument && pattern.test(error.message);
    await expect(withParameters((copy) => copy.delete('blocks.1.mlp.up.bias'))).rejects.toSatisfy(
      invalid('parameters', /'blocks\.1\.mlp\.up\.bias' is missing/),
    );
    await expect(
      withParameters((copy) => copy.set('final_ln.bias', { data: new Float32Array(3), shape: [3] })),
    ).rejects.toSatisfy(invalid('parameters', /'final_ln\.bias' has 3 values, expected 32/));
    await expect(exportHuggingFaceModel({ model, parameters, tokenizer, folder: '' })).rejects.toSatisfy(
      invalid('folder', /non-empty/),
    );
    const plain = {
      vocabularySize: tokenizer.vocabularySize,
      specialTokens: tokenizer.specialTokens,
      encode: () => new Int32Array(),
      decode: () => '',
    };
    await expect(
      exportHuggingFaceModel({ model, parameters, tokenizer: plain, folder: target }),
    ).rejects.toSatisfy(invalid('tokenizer', /tokenizer\.json/));
    const small = new DecoderTransformer({
      vocabSize: 300,
      contextLength: 8,
      modelDim: 8,
      layers: 1,
      heads: 2,
    });
    await expect(
      exportHuggingFaceModel({
        model: small,
        parameters: small.initializeParameters({ seed: 1 }),
        tokenizer,
        folder: target,
      }),
    ).rejects.toSatisfy(invalid('tokenizer', /has 400 tokens but the model only 300/));
    const wide = new DecoderTransformer({
      vocabSize: 400,
      contextLength: 8,
      modelDim: 8,
      layers: 1,
      heads: 2,
      dtype: 'float64',
    });
    await expect(
      exportHuggingFaceModel({
        model: wide,
        parameters: wide.initializeParameters({ seed: 1 }),
        tokenizer,
        folder: target,
      }),
    ).rejects.toSatisfy(invalid('model', /float64/));
    const file = join(scratch, 'a-file');
    await writeFile(file, 'not a folder');
    await expect(exportHuggingFaceModel({ model, parameters, tokenizer, folder: file })).rejects.toSatisfy(
      (error: unknown) => ModelFolderError.isInstance(error) && error.problem === 'write-failed',
    );
  });

  it('leaves no temporary files and replaces an earlier export in place', async () => {
    const again = await exportHuggingFaceModel({
      model: trained.model,
      parameters: trained.parameters,
      tokenizer,
      folder,
    });
    expect(again.files).toContain('onnx/model.onnx');
    const names = [...(await readdir(folder)), ...(await readdir(join(folder, 'onnx')))];
    expect(names.filter((name) => name.includes('.tmp-') || name.startsWith('.tokenizer-'))).toEqual([]);
  });
});
