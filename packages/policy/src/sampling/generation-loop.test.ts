import { AbortedError, type ValidationError } from '@arpo/core';
import { byteTokenizerSpecialTokens, createByteTokenizer } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { type DecodeStepInput, type LoopSequence, runGenerationLoop } from './generation-loop.js';
import { resolveSamplingOptions } from './sampling-settings.js';

const tokenizer = createByteTokenizer();
const vocabularySize = tokenizer.vocabularySize;

/** A fake model that spells `script` (then EOS), strongly but not deterministically. */
function scriptedModel(script: string) {
  const target = [...tokenizer.encode(script), byteTokenizerSpecialTokens.eos];
  const positions: number[] = [];
  const steps: DecodeStepInput[] = [];
  const logitsFor = (rows: number[]) => {
    const logits = new Float32Array(rows.length * vocabularySize);
    rows.forEach((row, index) => {
      const next = target[Math.min(positions[row] ?? 0, target.length - 1)] as number;
      logits[index * vocabularySize + next] = 12;
    });
    return logits;
  };
  return {
    steps,
    initial(count: number) {
      for (let row = 0; row < count; row++) positions[row] = 0;
      return logitsFor(Array.from({ length: count }, (_, row) => row));
    },
    async step(input: DecodeStepInput) {
      steps.push(input);
      for (const row of input.rows) positions[row] = (positions[row] ?? 0) + 1;
      return logitsFor(Array.from(input.rows));
    },
  };
}

function sequences(count: number, options: Record<string, unknown>): LoopSequence[] {
  return Array.from({ length: count }, (_, index) => ({
    sampling: resolveSamplingOptions(options),
    seed: index + 1,
  }));
}

const decode = (tokenIds: ArrayLike<number>) => tokenizer.decode(tokenIds, { skipSpecialTokens: true });

describe('runGenerationLoop', () => {
  it('stops at a stop string spanning tokens, keeps it and reports it; others run to EOS', async () => {
    const model = scriptedModel('<python>x=1</python> and more');
    const loopSequences = [
      ...sequences(1, { maxTokens: 64, temperature: 0, stop: ['</python>'] }),
      ...sequences(1, { maxTokens: 64, temperature: 0 }),
    ];
    const [stopped, free] = await runGenerationLoop({
      sequences: loopSequences,
      vocabularySize,
      initialLogits: model.initial(2),
      step: (input) => model.step(input),
      decode,
      eosTokenIds: [byteTokenizerSpecialTokens.eos],
    });
    expect(stopped?.finishReason).toBe('stop');
    expect(stopped?.stopString).toBe('</python>');
    expect(stopped?.text).toBe('<python>x=1</python>');
    expect(free?.finishReason).toBe('eos');
    expect(free?.text).toBe('<python>x=1</python> and more');
    expect(free?.tokenIds.at(-1)).toBe(byteTokenizerSpecialTokens.eos);
    // Once the first sequence stopped, steps only carried the second one.
    expect(Array.from(model.steps.at(-1)?.rows ?? [])).toEqual([1]);
    for (const sequence of [stopped, free]) {
      expect(sequence?.logprobs.length).toBe(sequence?.tokenIds.length);
      expect(sequence?.entropies.length).toBe(sequence?.tokenIds.length);
    }
  });

  it('honours max tokens and the remaining context', async () => {
    const model = scriptedModel('abcdefghijklmnop');
    const limited = sequences(2, { maxTokens: 5, seed: 1 });
    (limited[1] as LoopSequence).contextRemaining = 3;
    const results = await runGenerationLoop({
      sequences: limited,
      vocabularySize,
      initialLogits: model.initial(2),
      step: (input) => model.step(input),
      decode,
      eosTokenIds: [byteTokenizerSpecialTokens.eos],
    });
    expect(results.map((sequence) => [sequence.tokenIds.length, sequence.finishReason])).toEqual([
      [5, 'length'],
      [3, 'length'],
    ]);
  });

  it('rejects when already aborted and ends running sequences with abort', async () => {
    const model = scriptedModel('abcdefghijklmnop');
    const controller = new AbortController();
    controller.abort();
    const options = {
      sequences: sequences(1, { maxTokens: 10 }),
      vocabularySize,
      decode,
      eosTokenIds: [byteTokenizerSpecialTokens.eos],
    };
    await expect(
      runGenerationLoop({
        ...options,
        initialLogits: model.initial(1),
        step: (input) => model.step(input),
        signal: controller.signal,
      }),
    ).rejects.toSatisfy((error: unknown) => AbortedError.isInstance(error));
    const later = new AbortController();
    const [sequence] = await runGenerationLoop({
      ...options,
      initialLogits: model.initial(1),
      signal: later.signal,
      step: async (input) => {
        if (model.steps.length === 2) later.abort();
        return model.step(input);
      },
    });
    expect(sequence?.finishReason).toBe('abort');
    expect(sequence?.tokenIds.length).toBe(4);
  });

  it('reports each token with its owner before the next step, and a throw ends the loop there', async () => {
    const model = scriptedModel('ab');
    const seen: string[] = [];
    const results = await runGenerationLoop({
      sequences: sequences(2, { maxTokens: 8, temperature: 0 }),
      vocabularySize,
      initialLogits: model.initial(2),
      step: (input) => {
        seen.push(`step ${input.rows.length}`);
        return model.step(input);
      },
      decode,
      eosTokenIds: [byteTokenizerSpecialTokens.eos],
      owners: [
        { requestIndex: 0, sequenceIndex: 0 },
        { requestIndex: 1, sequenceIndex: 0 },
      ],
      onToken: (event) => void seen.push(`${event.requestIndex}:${event.position}:${event.tokenId}`),
    });
    const [a, b] = Array.from(tokenizer.encode('ab'));
    const eos = byteTokenizerSpecialTokens.eos;
    // Step-major order; the EOS is reported (it is in tokenIds); nothing after it.
    expect(seen).toEqual([
      `0:0:${a}`,
      `1:0:${a}`,
      'step 2',
      `0:1:${b}`,
      `1:1:${b}`,
      'step 2',
      `0:2:${eos}`,
      `1:2:${eos}`,
    ]);
    expect(Array.from(results[0]!.tokenIds)).toEqual([a, b, eos]);

    const failure = new Error('listener failed');
    let steps = 0;
    await expect(
      runGenerationLoop({
        sequences: sequences(2, { maxTokens: 8, temperature: 0 }),
        vocabularySize,
        initialLogits: model.initial(2),
        step: (input) => {
          steps++;
          return model.step(input);
        },
        decode,
        eosTokenIds: [],
        onToken: (event) => {
          if (event.position === 1 && event.sequenceIndex === 0) throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(steps).toBe(1);
  });

  it('is deterministic per seed', async () => {
    const run = async (seed: number) => {
      const logits = new Float32Array(vocabularySize).fill(0.5);
      const [sequence] = await runGenerationLoop({
        sequences: [{ sampling: resolveSamplingOptions({ maxTokens: 12 }), seed }],
        vocabularySize,
        initialLogits: logits,
        step: async () => logits,
        decode,
        eosTokenIds: [],
      });
      return Array.from(sequence?.tokenIds ?? []);
    };
    expect(await run(5)).toEqual(await run(5));
    expect(await run(5)).not.toEqual(await run(6));
  });
});

describe('resolveSamplingOptions', () => {
  it('fills defaults and rejects invalid options with a ValidationError naming the field', () => {
    expect(resolveSamplingOptions({ maxTokens: 3 })).toEqual({
      maxTokens: 3,
      temperature: 1,
      topK: 0,
      topP: 1,
      topLogprobs: 0,
      stop: [],
      seed: undefined,
    });
    for (const [options, field] of [
      [{ maxTokens: 0 }, 'maxTokens'],
      [{ maxTokens: 2, topP: 1.5 }, 'topP'],
      [{ maxTokens: 2, temperature: -1 }, 'temperature'],
      [{ maxTokens: 2, topK: 2.5 }, 'topK'],
      [{ maxTokens: 2, stop: [''] }, 'stop[0]'],
    ] as const) {
      expect(() => resolveSamplingOptions(options)).toThrow(
        expect.objectContaining({ field }) as unknown as ValidationError,
      );
    }
  });
});
