import type { GeneratedTokenEvent, GenerationRequest, Policy } from '@arpo/core';
import { DecoderTransformer } from '@arpo/tensor';
import { createByteTokenizer } from '@arpo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativePolicy } from '../src/native/native-policy.js';
import { TransformersPolicy } from '../src/transformers/transformers-policy.js';
import { createTinyModelFolder } from './fixtures/tiny-model-folder.js';

/** Groups events by continuation, checking positions arrive in order without gaps. */
function eventsBySequence(events: readonly GeneratedTokenEvent[]) {
  const grouped = new Map<string, GeneratedTokenEvent[]>();
  for (const event of events) {
    const key = `${event.requestIndex}/${event.sequenceIndex}`;
    const list = grouped.get(key) ?? [];
    expect(event.position).toBe(list.length);
    list.push(event);
    grouped.set(key, list);
  }
  return grouped;
}

/** Sampling for `prompt` with a stop string that fires part-way (a printable character of a free run). */
async function stopInTheMiddle(policy: Policy, prompt: Int32Array): Promise<GenerationRequest['sampling']> {
  const sampling = { maxTokens: 16, seed: 3 };
  const [free] = await policy.generate([{ promptTokenIds: prompt, sampling }]);
  const text = free!.sequences[0]!.text;
  const stop = [...text.slice(2)].find((character) => /^[!-~]$/.test(character));
  expect(stop, `no printable character in ${JSON.stringify(text)}`).toBeDefined();
  return { ...sampling, stop: [stop as string] };
}

function describeOnToken(name: string, setup: () => Promise<{ policy: Policy; prompts: Int32Array[] }>) {
  describe(`onToken on ${name}`, () => {
    let policy: Policy;
    let prompts: Int32Array[];
    let requests: GenerationRequest[];

    beforeAll(async () => {
      ({ policy, prompts } = await setup());
      const stopped = await stopInTheMiddle(policy, prompts[1]!);
      requests = [
        { promptTokenIds: prompts[0]!, sampling: { maxTokens: 12, seed: 5, topLogprobs: 3 }, n: 3 },
        { promptTokenIds: prompts[1]!, sampling: stopped },
      ];
    });
    afterAll(async () => {
      await policy.close?.();
    });

    it('reports every token of every row in order, exactly the tokens and statistics of the result', async () => {
      const plain = await policy.generate(requests);
      const events: GeneratedTokenEvent[] = [];
      const results = await policy.generate(requests, { onToken: (event) => void events.push(event) });
      // Observing the tokens does not change them.
      expect(
        results.map((result) => result.sequences.map((sequence) => Array.from(sequence.tokenIds))),
      ).toEqual(plain.map((result) => result.sequences.map((sequence) => Array.from(sequence.tokenIds))));
      const grouped = eventsBySequence(events);
      expect(grouped.size).toBe(4);
      expect(results[1]!.sequences[0]!.finishReason).toBe('stop');
      results.forEach((result, requestIndex) => {
        result.sequences.forEach((sequence, sequenceIndex) => {
          const reported = grouped.get(`${requestIndex}/${sequenceIndex}`) ?? [];
          expect(reported.map((event) => event.tokenId)).toEqual(Array.from(sequence.tokenIds));
          expect(reported.map((event) => event.logprob)).toEqual(Array.from(sequence.logprobs));
          expect(reported.map((event) => event.entropy)).toEqual(Array.from(sequence.entropies));
          if (requestIndex === 0) {
            expect(reported.map((event) => Array.from(event.topLogprobs!.tokenIds))).toEqual(
              sequence.topLogprobs!.map((top) => Array.from(top.tokenIds)),
            );
          } else expect(reported.every((event) => event.topLogprobs === undefined)).toBe(true);
        });
      });
      expect(events.length).toBe(results.reduce((sum, result) => sum + result.usage.completionTokens, 0));
    });

    it('awaits a returned promise before sampling further', async () => {
      let paused = false;
      let calls = 0;
      await policy.generate([requests[0]!], {
        onToken: async () => {
          // A token reported while the previous callback's promise is pending would find `paused` set.
          expect(paused).toBe(false);
          calls++;
          paused = true;
          await new Promise((resolve) => setImmediate(resolve));
          paused = false;
        },
      });
      expect(calls).toBeGreaterThan(3);
    });

    it('rejects with the callback error, before the next decode step, and stays usable', async () => {
      const before = await policy.generate(requests);
      const failure = new Error('listener broke');
      let calls = 0;
      await expect(
        policy.generate(requests, {
          onToken: () => {
            calls++;
            if (calls === 6) throw failure;
          },
        }),
      ).rejects.toBe(failure);
      // 4 rows: the throw at the 6th event (row 1 of step 2) stops the loop there.
      expect(calls).toBe(6);
      await expect(policy.generate(requests, { onToken: () => Promise.reject(failure) })).rejects.toBe(
        failure,
      );
      const after = await policy.generate(requests);
      expect(after.map((result) => result.sequences.map((sequence) => sequence.text))).toEqual(
        before.map((result) => result.sequences.map((sequence) => sequence.text)),
      );
    });

    it('can abort from the callback: the reported tokens end where the result does', async () => {
      const controller = new AbortController();
      const events: GeneratedTokenEvent[] = [];
      const [result] = await policy.generate([requests[0]!], {
        signal: controller.signal,
        onToken: (event) => {
          events.push(event);
          if (event.position === 2) controller.abort();
        },
      });
      for (const [sequenceIndex, sequence] of result!.sequences.entries()) {
        expect(sequence.finishReason).toBe('abort');
        expect(sequence.tokenIds).toHaveLength(3);
        expect(
          events.filter((event) => event.sequenceIndex === sequenceIndex).map((event) => event.tokenId),
        ).toEqual(Array.from(sequence.tokenIds));
      }
    });
  });
}

describeOnToken('NativePolicy (tiny byte-level model)', async () => {
  const tokenizer = createByteTokenizer();
  const model = new DecoderTransformer({
    vocabSize: tokenizer.vocabularySize,
    contextLength: 96,
    modelDim: 32,
    layers: 1,
    heads: 2,
  });
  const policy = await NativePolicy.create({
    model,
    parameters: model.initializeParameters({ seed: 11 }),
    tokenizer,
    threads: 1,
  });
  return {
    policy,
    prompts: ['Compute 12*34.', 'Tell me a story'].map((text) =>
      tokenizer.encode(text, { addSpecialTokens: true }),
    ),
  };
});

let fixture: Awaited<ReturnType<typeof createTinyModelFolder>> | undefined;
afterAll(async () => {
  await fixture?.remove();
});

describeOnToken('TransformersPolicy (tiny ONNX folder)', async () => {
  fixture = await createTinyModelFolder();
  const policy = await TransformersPolicy.load({ folder: fixture.folder });
  return {
    policy,
    prompts: ['the cat sat', 'a dog ran'].map((text) =>
      policy.tokenizer.encode(text, { addSpecialTokens: true }),
    ),
  };
});
