import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContextLengthError, InvalidArgumentError, ValidationError } from '@arpo/core';
import { describePolicyConformance } from '@arpo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFolderError, TransformersPolicy } from '../src/index.js';
import { expectRequestErrors } from './fixtures/expect-request-errors.js';
import { elementType, OnnxGraph } from './fixtures/onnx-writer.js';
import { createTinyModelFolder } from './fixtures/tiny-model-folder.js';

let fixture: Awaited<ReturnType<typeof createTinyModelFolder>>;
let policy: TransformersPolicy;

beforeAll(async () => {
  fixture = await createTinyModelFolder();
  policy = await TransformersPolicy.load({ folder: fixture.folder });
});
afterAll(async () => {
  await policy?.close();
  await fixture?.remove();
});

describePolicyConformance('TransformersPolicy (tiny GPT-2-style ONNX folder)', {
  create: () => TransformersPolicy.load({ folder: fixture.folder }),
});

/** Full next-token logits after every position of `tokenIds`, straight from the model (no cache). */
async function referenceLogits(tokenIds: Int32Array): Promise<Float32Array[]> {
  const transformers = await import('@huggingface/transformers');
  const model = await transformers.AutoModelForCausalLM.from_pretrained(fixture.folder, {
    local_files_only: true,
  });
  try {
    const inputIds = new transformers.Tensor('int64', BigInt64Array.from(Array.from(tokenIds, BigInt)), [
      1,
      tokenIds.length,
    ]);
    const mask = new transformers.Tensor('int64', new BigInt64Array(tokenIds.length).fill(1n), [
      1,
      tokenIds.length,
    ]);
    const outputs = (await model.forward({ input_ids: inputIds, attention_mask: mask })) as Record<
      string,
      { data: Float32Array; dims: number[] }
    >;
    const logits = outputs.logits as { data: Float32Array; dims: number[] };
    const width = logits.dims[2] as number;
    return Array.from({ length: tokenIds.length }, (_, position) =>
      logits.data.slice(position * width, (position + 1) * width),
    );
  } finally {
    await model.dispose();
  }
}

function logSoftmax(row: Float32Array, temperature: number): { logprobs: number[]; entropy: number } {
  const scaled = Array.from(row, (value) => value / temperature);
  const maximum = Math.max(...scaled);
  const normaliser = maximum + Math.log(scaled.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
  const logprobs = scaled.map((value) => value - normaliser);
  return { logprobs, entropy: -logprobs.reduce((sum, logprob) => sum + Math.exp(logprob) * logprob, 0) };
}

describe('TransformersPolicy', () => {
  it('greedy decoding gives the same tokens as @huggingface/transformers generate()', async () => {
    const transformers = await import('@huggingface/transformers');
    const model = await transformers.AutoModelForCausalLM.from_pretrained(fixture.folder, {
      local_files_only: true,
    });
    const hfTokenizer = await transformers.AutoTokenizer.from_pretrained(fixture.folder, {
      local_files_only: true,
    });
    try {
      for (const text of ['The answer is', '<think>I should call', 'the agent']) {
        const prompt = policy.tokenizer.encode(text, { addSpecialTokens: true });
        const inputs = hfTokenizer(text);
        const output = (await model.generate({ ...inputs, max_new_tokens: 24, do_sample: false })) as {
          tolist(): bigint[][];
        };
        const expected = output.tolist()[0]?.slice(prompt.length).map(Number);
        const [result] = await policy.generate([
          { promptTokenIds: prompt, sampling: { maxTokens: 24, temperature: 0 } },
        ]);
        const tokens = Array.from(result?.sequences[0]?.tokenIds ?? []);
        expect(tokens).toEqual(expected);
        expect(tokens.length).toBeGreaterThan(0);
      }
    } finally {
      await model.dispose();
    }
  });

  it('reports logprobs = log-softmax(logits / T) at the sampled ids and the exact full-vocabulary entropy', async () => {
    const prompt = policy.tokenizer.encode('the agent searches for', { addSpecialTokens: true });
    const temperature = 0.7;
    const [result] = await policy.generate([
      { promptTokenIds: prompt, sampling: { maxTokens: 10, temperature, seed: 4, topK: 20 } },
    ]);
    const sequence = result?.sequences[0];
    if (sequence === undefined) throw new Error('no sequence');
    const full = new Int32Array([...prompt, ...sequence.tokenIds]);
    const logits = await referenceLogits(full);
    for (let position = 0; position < sequence.tokenIds.length; position++) {
      const expected = logSoftmax(logits[prompt.length - 1 + position] as Float32Array, temperature);
      expect(sequence.logprobs[position]).toBeCloseTo(
        expected.logprobs[sequence.tokenIds[position] as number] as number,
        4,
      );
      expect(sequence.entropies[position]).toBeCloseTo(expected.entropy, 4);
    }
  });

  it('a forked continuation has exactly the distribution of re-running the whole prefix, computing only new tokens', async () => {
    const prompt = policy.tokenizer.encode('<think>I should call a tool', { addSpecialTokens: true });
    policy.clearPrefixCache();
    const [first] = await policy.generate([
      { promptTokenIds: prompt, sampling: { maxTokens: 6, seed: 1 }, n: 3 },
    ]);
    expect(first?.usage).toMatchObject({ reusedPromptTokens: 0, computedPromptTokens: prompt.length });
    // Branch: continue sequence 1 after a "tool result", as the agent loop does.
    const branch = first?.sequences[1]?.tokenIds ?? new Int32Array();
    const suffix = policy.tokenizer.encode('<result>42</result>');
    const extended = new Int32Array([...prompt, ...branch, ...suffix]);
    const before = policy.statistics();
    const options = { maxTokens: 1, temperature: 1, topLogprobs: 5, seed: 2 };
    const [forked] = await policy.generate([{ promptTokenIds: extended, sampling: options }]);
    const after = policy.statistics();
    const reusable = prompt.length + branch.length - 1;
    expect(forked?.usage.reusedPromptTokens).toBe(reusable);
    expect(forked?.usage.computedPromptTokens).toBe(extended.length - reusable);
    expect(after.computedTokens - before.computedTokens).toBe(extended.length - reusable);
    expect(after.reusedTokens - before.reusedTokens).toBe(reusable);

    const fresh = await TransformersPolicy.load({ folder: fixture.folder, prefixCacheTokens: 0 });
    try {
      const [rerun] = await fresh.generate([{ promptTokenIds: extended, sampling: options }]);
      expect(rerun?.usage.reusedPromptTokens).toBe(0);
      const forkedSequence = forked?.sequences[0];
      const rerunSequence = rerun?.sequences[0];
      expect(Array.from(forkedSequence?.tokenIds ?? [])).toEqual(Array.from(rerunSequence?.tokenIds ?? []));
      expect(Array.from(forkedSequence?.topLogprobs?.[0]?.tokenIds ?? [])).toEqual(
        Array.from(rerunSequence?.topLogprobs?.[0]?.tokenIds ?? []),
      );
      forkedSequence?.topLogprobs?.[0]?.logprobs.forEach((logprob, rank) => {
        expect(logprob).toBeCloseTo(rerunSequence?.topLogprobs?.[0]?.logprobs[rank] as number, 4);
      });
      expect(forkedSequence?.entropies[0]).toBeCloseTo(rerunSequence?.entropies[0] as number, 4);
    } finally {
      await fresh.close();
    }
  });

  it('reuses the whole prompt when it was seen before', async () => {
    const prompt = policy.tokenizer.encode('the model answers twenty-one', { addSpecialTokens: true });
    await policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens: 2, seed: 1 } }]);
    const [again] = await policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens: 2, seed: 1 } }]);
    expect(again?.usage).toMatchObject({ reusedPromptTokens: prompt.length, computedPromptTokens: 0 });
  });

  it('applies the chat template through the library', () => {
    const ids = policy.tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }]);
    expect(policy.tokenizer.decode(ids)).toBe('<|bos|><|user|>\nhi<|eos|>\n<|assistant|>\n');
  });

  it('rejects bad requests with typed errors', async () => {
    const prompt = policy.tokenizer.encode('hi', { addSpecialTokens: true });
    await expect(
      policy.generate([
        { promptTokenIds: new Int32Array(policy.contextLength).fill(5), sampling: { maxTokens: 1 } },
      ]),
    ).rejects.toSatisfy((error: unknown) => ContextLengthError.isInstance(error));
    await expect(
      policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens: 1 }, n: 0 }]),
    ).rejects.toSatisfy((error: unknown) => ValidationError.isInstance(error) && error.field === 'n');
    await expect(
      policy.generate([{ promptTokenIds: [1, 999_999], sampling: { maxTokens: 1 } }]),
    ).rejects.toSatisfy(
      (error: unknown) => InvalidArgumentError.isInstance(error) && /token 1 is 999999/.test(error.message),
    );
    await expectRequestErrors(policy, prompt);
  });
});

describe('TransformersPolicy.load errors', () => {
  it('names a corrupt model.onnx (the library cannot load it) as malformed-file', async () => {
    const corrupt = await createTinyModelFolder({ layers: 1, tokenizer: fixture.tokenizer });
    try {
      await writeFile(join(corrupt.folder, 'onnx', 'model.onnx'), 'this is not a protobuf model\n');
      await expect(TransformersPolicy.load({ folder: corrupt.folder })).rejects.toSatisfy(
        (error: unknown) =>
          ModelFolderError.isInstance(error) &&
          error.problem === 'malformed-file' &&
          error.file === 'onnx/model.onnx' &&
          error.message.startsWith(
            `${corrupt.folder}/onnx/model.onnx: @huggingface/transformers cannot load the model (`,
          ) &&
          error.cause !== undefined,
      );
    } finally {
      await corrupt.remove();
    }
  });

  it('rejects a model whose cache inputs are not past_key_values.{i}.key|value as unsupported-model', async () => {
    const folder = await createTinyModelFolder({ layers: 1, tokenizer: fixture.tokenizer });
    try {
      // A loadable causal LM whose cache uses another naming (one fused tensor per layer).
      await writeFile(join(folder.folder, 'onnx', 'model.onnx'), writeFusedCacheModel(600));
      await expect(TransformersPolicy.load({ folder: folder.folder })).rejects.toSatisfy(
        (error: unknown) =>
          ModelFolderError.isInstance(error) &&
          error.problem === 'unsupported-model' &&
          error.file === 'onnx/model.onnx' &&
          error.message.includes('needs input_ids and a standard past_key_values.{i}.key/value cache') &&
          error.message.includes('has inputs input_ids, attention_mask, past_key_values.0'),
      );
      // Without any cache input it is rejected the same way (prefix reuse needs the cache).
      await writeFile(join(folder.folder, 'onnx', 'model.onnx'), writeFusedCacheModel(600, false));
      await expect(TransformersPolicy.load({ folder: folder.folder })).rejects.toSatisfy(
        (error: unknown) =>
          ModelFolderError.isInstance(error) &&
          error.problem === 'unsupported-model' &&
          error.message.endsWith('has inputs input_ids, attention_mask'),
      );
    } finally {
      await folder.remove();
    }
  });

  it('names a missing folder, malformed config.json and a missing ONNX file', async () => {
    await expect(TransformersPolicy.load({ folder: join(tmpdir(), 'arpo-no-such-model') })).rejects.toSatisfy(
      (error: unknown) => ModelFolderError.isInstance(error) && error.problem === 'missing-folder',
    );
    const broken = await createTinyModelFolder({ layers: 1, tokenizer: fixture.tokenizer });
    try {
      await writeFile(join(broken.folder, 'config.json'), '{"model_type": "gpt2", ');
      await expect(TransformersPolicy.load({ folder: broken.folder })).rejects.toSatisfy(
        (error: unknown) =>
          ModelFolderError.isInstance(error) &&
          error.file === 'config.json' &&
          error.problem === 'malformed-file',
      );
      await writeFile(
        join(broken.folder, 'config.json'),
        JSON.stringify({ model_type: 'gpt2', n_positions: 64 }),
      );
      await expect(TransformersPolicy.load({ folder: broken.folder })).rejects.toThrow(
        /config\.json: no positive integer 'vocab_size'/,
      );
      await writeFile(
        join(broken.folder, 'config.json'),
        JSON.stringify({ model_type: 'gpt2', vocab_size: 600, n_positions: 64 }),
      );
      await unlink(join(broken.folder, 'onnx', 'model.onnx'));
      await expect(TransformersPolicy.load({ folder: broken.folder })).rejects.toSatisfy(
        (error: unknown) =>
          ModelFolderError.isInstance(error) &&
          error.file === 'onnx/model.onnx' &&
          error.problem === 'missing-file',
      );
      await expect(TransformersPolicy.load({ folder: broken.folder, dtype: 'q8' })).rejects.toThrow(
        /onnx\/model_quantized\.onnx/,
      );
    } finally {
      await broken.remove();
    }
    const noTokenizer = await mkdtemp(join(tmpdir(), 'arpo-model-no-tokenizer-'));
    try {
      await writeFile(
        join(noTokenizer, 'config.json'),
        JSON.stringify({ model_type: 'gpt2', vocab_size: 10, n_positions: 8 }),
      );
      await expect(TransformersPolicy.load({ folder: noTokenizer })).rejects.toThrow(ModelFolderError);
    } finally {
      await rm(noTokenizer, { recursive: true, force: true });
    }
  });
});

/** A tiny embedding → logits model with one fused `past_key_values.{i}` cache tensor per layer (or none). */
function writeFusedCacheModel(vocabularySize: number, withCache = true): Uint8Array {
  const graph = new OnnxGraph();
  const inputIds = graph.input('input_ids', elementType.int64, ['batch_size', 'sequence_length']);
  graph.input('attention_mask', elementType.int64, ['batch_size', 'total_sequence_length']);
  const embedded = graph.node('Gather', [
    graph.floats('wte', [vocabularySize, 4], new Float32Array(vocabularySize * 4).fill(0.1)),
    inputIds,
  ]);
  graph.node(
    'MatMul',
    [embedded, graph.floats('head', [4, vocabularySize], new Float32Array(4 * vocabularySize))],
    {},
    'logits',
  );
  graph.output('logits', elementType.float, ['batch_size', 'sequence_length', vocabularySize]);
  if (withCache) {
    graph.input('past_key_values.0', elementType.float, ['batch_size', 2, 'past_sequence_length', 4]);
    graph.node(
      'Concat',
      [
        'past_key_values.0',
        // [batch, 2, sequence, 4]: the embeddings twice, as a fused key/value pair.
        graph.node(
          'Concat',
          [
            graph.node('Unsqueeze', [embedded, graph.int64s('axis1', [1], [1])]),
            graph.node('Unsqueeze', [embedded, graph.int64s('axis1_value', [1], [1])]),
          ],
          { axis: 1 },
        ),
      ],
      { axis: 2 },
      'present.0',
    );
    graph.output('present.0', elementType.float, ['batch_size', 2, 'total_sequence_length', 4]);
  }
  return graph.serialize(17);
}
