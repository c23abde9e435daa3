import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChatMessage } from '@arpo/core';
import { describePolicyConformance } from '@arpo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransformersPolicy } from '../src/index.js';
import { expectRequestErrors } from './fixtures/expect-request-errors.js';
import { createTinyQwen2Folder, qwen25ChatTemplate } from './fixtures/tiny-qwen2-model.js';

// A user's Qwen2.5-Instruct ONNX export, in miniature: grouped-query attention (4 query heads over 2 KV heads),
// rotary positions, ChatML template, added tokens after the vocabulary, vocab_size padded past the tokenizer.
let fixture: Awaited<ReturnType<typeof createTinyQwen2Folder>>;
let policy: TransformersPolicy;

beforeAll(async () => {
  fixture = await createTinyQwen2Folder();
  policy = await TransformersPolicy.load({ folder: fixture.folder });
});
afterAll(async () => {
  await policy?.close();
  await fixture?.remove();
});

describePolicyConformance('TransformersPolicy (tiny Qwen2-style ONNX folder)', {
  create: () => TransformersPolicy.load({ folder: fixture.folder }),
  prompt: 'the agent computes',
});

async function loadReferenceModel() {
  const transformers = await import('@huggingface/transformers');
  const model = await transformers.AutoModelForCausalLM.from_pretrained(fixture.folder, {
    local_files_only: true,
  });
  return { transformers, model };
}

/** Full next-token logits after every position of `tokenIds`: one forward pass without a cache. */
async function referenceLogits(tokenIds: ArrayLike<number>): Promise<Float32Array[]> {
  const { transformers, model } = await loadReferenceModel();
  try {
    const length = tokenIds.length;
    const outputs = (await model.forward({
      input_ids: new transformers.Tensor('int64', BigInt64Array.from(Array.from(tokenIds, BigInt)), [
        1,
        length,
      ]),
      attention_mask: new transformers.Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]),
    })) as Record<string, { data: Float32Array; dims: number[] }>;
    const logits = outputs.logits as { data: Float32Array; dims: number[] };
    const width = logits.dims[2] as number;
    return Array.from({ length }, (_, position) =>
      logits.data.slice(position * width, (position + 1) * width),
    );
  } finally {
    await model.dispose();
  }
}

/** Log-softmax and entropy of `row / temperature` in float64. */
function distribution(row: Float32Array, temperature: number): { logprobs: number[]; entropy: number } {
  const scaled = Array.from(row, (value) => value / temperature);
  const maximum = Math.max(...scaled);
  const normaliser = maximum + Math.log(scaled.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
  const logprobs = scaled.map((value) => value - normaliser);
  return { logprobs, entropy: -logprobs.reduce((sum, logprob) => sum + Math.exp(logprob) * logprob, 0) };
}

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are a careful agent.' },
  { role: 'user', content: 'What is 12 * 34?' },
];

describe('TransformersPolicy on a Qwen2-style folder', () => {
  it('is the grouped-query-attention export it claims: 2 KV heads cached for 4 query heads', async () => {
    const config = JSON.parse(await readFile(join(fixture.folder, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 2 });
    expect(policy.vocabularySize).toBe(config.vocab_size);
    expect(policy.tokenizer.vocabularySize).toBe(fixture.tokens.tokenizerSize);
    expect(policy.vocabularySize).toBeGreaterThan(policy.tokenizer.vocabularySize);
    expect(policy.contextLength).toBe(config.max_position_embeddings);
    const { transformers, model } = await loadReferenceModel();
    try {
      const session = (model.sessions as Record<string, { inputNames: string[]; outputNames: string[] }>)
        .model as { inputNames: string[]; outputNames: string[] };
      expect(session.inputNames).toEqual([
        'input_ids',
        'attention_mask',
        'position_ids',
        'past_key_values.0.key',
        'past_key_values.0.value',
        'past_key_values.1.key',
        'past_key_values.1.value',
      ]);
      expect(session.outputNames).toContain('present.1.value');
      const outputs = (await model.forward({
        input_ids: new transformers.Tensor('int64', BigInt64Array.of(5n, 6n, 7n), [1, 3]),
        attention_mask: new transformers.Tensor('int64', BigInt64Array.of(1n, 1n, 1n), [1, 3]),
      })) as Record<string, { dims: number[] }>;
      expect(outputs['present.0.key']?.dims).toEqual([1, 2, 3, 8]);
      expect(outputs.logits?.dims).toEqual([1, 3, policy.vocabularySize]);
    } finally {
      await model.dispose();
    }
  });

  it('reads roles from tokenizer_config.json: EOS <|im_end|>, PAD <|endoftext|>, no BOS', () => {
    expect(policy.tokenizer.specialTokens).toMatchObject({
      eos: fixture.tokens.imEnd,
      pad: fixture.tokens.endOfText,
    });
    expect(policy.tokenizer.specialTokens.bos).toBeUndefined();
    expect(policy.tokenizer.tokenId('<|im_start|>')).toBe(fixture.tokens.imStart);
  });

  it('renders the Qwen2.5 chat template exactly (default system prompt, turns, tool responses)', async () => {
    expect(policy.tokenizer.hasChatTemplate).toBe(true);
    expect(policy.tokenizer.renderChatTemplate([{ role: 'user', content: 'hi' }])).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
    );
    const turns: ChatMessage[] = [
      ...conversation,
      { role: 'assistant', content: '<tool_call>\n{"name": "python", "arguments": "12*34"}\n</tool_call>' },
      { role: 'tool', content: '408' },
    ];
    const expected =
      '<|im_start|>system\nYou are a careful agent.<|im_end|>\n' +
      '<|im_start|>user\nWhat is 12 * 34?<|im_end|>\n' +
      '<|im_start|>assistant\n<tool_call>\n{"name": "python", "arguments": "12*34"}\n</tool_call><|im_end|>\n' +
      '<|im_start|>user\n<tool_response>\n408\n</tool_response><|im_end|>\n';
    expect(policy.tokenizer.renderChatTemplate(turns, { addGenerationPrompt: false })).toBe(expected);
    const ids = policy.tokenizer.applyChatTemplate(turns, { addGenerationPrompt: true });
    expect(policy.tokenizer.decode(ids)).toBe(`${expected}<|im_start|>assistant\n`);
    // ChatML markers are single added tokens, not spelled out byte by byte.
    expect(Array.from(ids).filter((id) => id === fixture.tokens.imStart)).toHaveLength(5);
    expect(Array.from(ids).filter((id) => id === fixture.tokens.imEnd)).toHaveLength(4);
    expect(Array.from(ids)).toContain(policy.tokenizer.tokenId('<tool_call>'));
    // The template in the folder is the one written (a rendering test against a different template means nothing).
    const tokenizerConfig = JSON.parse(await readFile(join(fixture.folder, 'tokenizer_config.json'), 'utf8'));
    expect(tokenizerConfig.chat_template).toBe(qwen25ChatTemplate);
  });

  it('greedy decoding gives the same tokens as @huggingface/transformers AutoModelForCausalLM generate()', async () => {
    const { transformers, model } = await loadReferenceModel();
    try {
      const prompts = [
        policy.tokenizer.encode('the agent computes the sum of 12 and 30.'),
        policy.tokenizer.applyChatTemplate(conversation),
        policy.tokenizer.encode('<tool_call>\n{"name": "search"'),
      ];
      for (const prompt of prompts) {
        const output = (await model.generate({
          input_ids: new transformers.Tensor('int64', BigInt64Array.from(Array.from(prompt, BigInt)), [
            1,
            prompt.length,
          ]),
          attention_mask: new transformers.Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [
            1,
            prompt.length,
          ]),
          max_new_tokens: 20,
          do_sample: false,
          // generation_config.json asks for Qwen's 1.1 repetition penalty: plain greedy is compared.
          repetition_penalty: 1,
        })) as { tolist(): bigint[][] };
        const expected = output.tolist()[0]?.slice(prompt.length).map(Number) ?? [];
        const [result] = await policy.generate([
          { promptTokenIds: prompt, sampling: { maxTokens: 20, temperature: 0 }, n: 2 },
        ]);
        const tokens = Array.from(result?.sequences[0]?.tokenIds ?? []);
        expect(tokens).toEqual(expected);
        expect(Array.from(result?.sequences[1]?.tokenIds ?? [])).toEqual(expected);
        expect(tokens.length).toBeGreaterThan(0);
        // Not a degenerate model that repeats one token: the comparison walks through varied states.
        expect(new Set(tokens).size).toBeGreaterThan(5);
      }
    } finally {
      await model.dispose();
    }
  });

  it('reports logprobs and entropies equal to log-softmax and entropy of the full no-cache logits', async () => {
    const prompt = policy.tokenizer.applyChatTemplate(conversation);
    const temperature = 0.8;
    const [result] = await policy.generate([
      { promptTokenIds: prompt, sampling: { maxTokens: 12, temperature, topK: 40, seed: 6 } },
    ]);
    const sequence = result?.sequences[0];
    if (sequence === undefined) throw new Error('no sequence');
    expect(sequence.tokenIds.length).toBeGreaterThan(3);
    const logits = await referenceLogits([...prompt, ...sequence.tokenIds]);
    sequence.tokenIds.forEach((tokenId, position) => {
      const expected = distribution(logits[prompt.length - 1 + position] as Float32Array, temperature);
      expect(sequence.logprobs[position]).toBeCloseTo(expected.logprobs[tokenId] as number, 4);
      expect(sequence.entropies[position]).toBeCloseTo(expected.entropy, 4);
    });
    const [scored] = await policy.scoreTokens(
      [{ promptTokenIds: prompt, completionTokenIds: sequence.tokenIds }],
      { temperature },
    );
    scored?.logprobs.forEach((logprob, position) => {
      expect(logprob).toBeCloseTo(sequence.logprobs[position] as number, 4);
    });
  });

  it('continues a chat branch after a tool response from past_key_values exactly as a cold run', async () => {
    policy.clearPrefixCache();
    const prompt = policy.tokenizer.applyChatTemplate(conversation);
    const [first] = await policy.generate([
      { promptTokenIds: prompt, sampling: { maxTokens: 8, seed: 3 }, n: 3 },
    ]);
    expect(first?.usage).toMatchObject({ reusedPromptTokens: 0, computedPromptTokens: prompt.length });
    const branch = first?.sequences[2]?.tokenIds ?? new Int32Array();
    expect(branch.length).toBeGreaterThan(1);
    // The agent loop appends the tool turn in ChatML and asks for the assistant's next turn.
    const toolTurn = policy.tokenizer.encode(
      '<|im_end|>\n<|im_start|>user\n<tool_response>\n408\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
    const extended = new Int32Array([...prompt, ...branch, ...toolTurn]);
    const sampling = { maxTokens: 6, temperature: 1, topLogprobs: 4, seed: 8 };
    const before = policy.statistics();
    const [forked] = await policy.generate([{ promptTokenIds: extended, sampling, n: 2 }]);
    const after = policy.statistics();
    const reusable = prompt.length + branch.length - 1;
    expect(forked?.usage).toMatchObject({
      reusedPromptTokens: reusable,
      computedPromptTokens: extended.length - reusable,
    });
    expect(after.reusedTokens - before.reusedTokens).toBe(reusable);
    // Computed: the new context tokens, then one decode step per generated token but each row's last.
    const decodeSteps = (forked?.sequences ?? []).reduce(
      (sum, sequence) => sum + sequence.tokenIds.length - 1,
      0,
    );
    expect(after.computedTokens - before.computedTokens).toBe(extended.length - reusable + decodeSteps);
    const cold = await TransformersPolicy.load({ folder: fixture.folder, prefixCacheTokens: 0 });
    try {
      const [rerun] = await cold.generate([{ promptTokenIds: extended, sampling, n: 2 }]);
      expect(rerun?.usage.reusedPromptTokens).toBe(0);
      forked?.sequences.forEach((sequence, index) => {
        const expected = rerun?.sequences[index];
        if (expected === undefined) throw new Error('no cold sequence');
        expect(Array.from(sequence.tokenIds)).toEqual(Array.from(expected.tokenIds));
        sequence.tokenIds.forEach((_, position) => {
          expect(sequence.logprobs[position]).toBeCloseTo(expected.logprobs[position] as number, 4);
          expect(sequence.entropies[position]).toBeCloseTo(expected.entropies[position] as number, 4);
          const top = sequence.topLogprobs?.[position];
          const expectedTop = expected.topLogprobs?.[position];
          expect(Array.from(top?.tokenIds ?? [])).toEqual(Array.from(expectedTop?.tokenIds ?? []));
          expect(top?.tokenIds).toHaveLength(4);
          top?.logprobs.forEach((logprob, rank) => {
            expect(logprob).toBeCloseTo(expectedTop?.logprobs[rank] as number, 4);
          });
        });
      });
    } finally {
      await cold.close();
    }
    // And both equal the no-cache logits of the whole context.
    const forkedSequence = forked?.sequences[0];
    if (forkedSequence === undefined) throw new Error('no forked sequence');
    const logits = await referenceLogits([...extended, ...forkedSequence.tokenIds]);
    forkedSequence.tokenIds.forEach((tokenId, position) => {
      const expected = distribution(logits[extended.length - 1 + position] as Float32Array, 1);
      expect(forkedSequence.logprobs[position]).toBeCloseTo(expected.logprobs[tokenId] as number, 4);
      expect(forkedSequence.entropies[position]).toBeCloseTo(expected.entropy, 4);
    });
  });

  it('names the request in errors, as NativePolicy does', async () => {
    await expectRequestErrors(policy, policy.tokenizer.applyChatTemplate(conversation));
  });
});
