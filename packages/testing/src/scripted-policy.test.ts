import { describe, expect, it } from 'vitest';
import { createScriptedPolicy } from './scripted-policy.js';

describe('createScriptedPolicy options', () => {
  const prompt = Int32Array.of(1, 70);

  it('reports top logprobs only when the request asks for them, at most topLogprobs per position', async () => {
    const policy = createScriptedPolicy({
      respond: () => ({ text: 'ab', endWithEos: false }),
      topLogprobs: (_context, position) => [-0.1 - position, -1, -2, -3],
    });
    const [plain] = await policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens: 8 } }]);
    expect(plain!.sequences[0]!.topLogprobs).toBeUndefined();
    const [asked] = await policy.generate([
      { promptTokenIds: prompt, sampling: { maxTokens: 8, topLogprobs: 3 } },
    ]);
    const sequence = asked!.sequences[0]!;
    expect(sequence.topLogprobs).toHaveLength(2);
    expect(Array.from(sequence.topLogprobs![1]!.logprobs)).toEqual([-1.1, -1, -2].map(Math.fround));
    // The sampled token comes first, then the following ids.
    const sampled = sequence.tokenIds[1]!;
    expect(Array.from(sequence.topLogprobs![1]!.tokenIds)).toEqual([sampled, sampled + 1, sampled + 2]);
  });

  it('emits raw token ids, honouring stop strings and EOS', async () => {
    const policy = createScriptedPolicy({
      respond: () => ({
        text: 'ignored',
        tokenIds: [0xff + 3, ...Array.from('</x>', (c) => c.charCodeAt(0) + 3), 80],
      }),
    });
    const [result] = await policy.generate([
      { promptTokenIds: prompt, sampling: { maxTokens: 16, stop: ['</x>'] } },
    ]);
    const sequence = result!.sequences[0]!;
    expect(Array.from(sequence.tokenIds)).toEqual([
      0xff + 3,
      ...Array.from('</x>', (c) => c.charCodeAt(0) + 3),
    ]);
    expect(sequence.finishReason).toBe('stop');
    expect(sequence.text).toBe('\uFFFD</x>');
  });
});
