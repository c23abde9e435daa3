import type { GenerateOptions, GenerationRequest, GenerationResult, Policy, Tokenizer } from '@arpo/core';
import { createByteTokenizer } from '@arpo/testing';

/**
 * A byte-level policy that answers every prompt with the bytes of a fixed text, one byte token per decode step,
 * reporting each through `onToken` (and yielding to the event loop between steps, as a real runtime does). Its
 * text has multi-byte UTF-8 characters split over tokens and may end with a stop string, for testing how the
 * server decodes and cuts streamed deltas.
 */
export class ScriptedTextPolicy implements Policy {
  readonly id = 'scripted-text';
  readonly tokenizer: Tokenizer = createByteTokenizer();
  readonly vocabularySize = this.tokenizer.vocabularySize;
  readonly contextLength = 512;
  readonly capabilities = { entropy: 'none', logits: false, trainable: false, prefixReuse: false } as const;

  constructor(private readonly script: { text: string; stopString?: string }) {}

  async generate(requests: readonly GenerationRequest[], options: GenerateOptions = {}) {
    const tokenIds = this.tokenizer.encode(this.script.text, { addSpecialTokens: false });
    const results: GenerationResult[] = [];
    for (const [requestIndex, request] of requests.entries()) {
      for (let position = 0; position < tokenIds.length; position++) {
        await new Promise((resolve) => setImmediate(resolve));
        const event = {
          requestIndex,
          sequenceIndex: 0,
          position,
          tokenId: tokenIds[position] as number,
          logprob: -1,
          entropy: 0,
        };
        await options.onToken?.(event);
      }
      const sequence = {
        tokenIds: tokenIds.slice(),
        logprobs: new Float32Array(tokenIds.length).fill(-1),
        entropies: new Float32Array(tokenIds.length),
        text: this.script.text,
        finishReason: this.script.stopString === undefined ? ('length' as const) : ('stop' as const),
        ...(this.script.stopString === undefined ? {} : { stopString: this.script.stopString }),
      };
      results.push({
        sequences: [sequence],
        usage: {
          promptTokens: request.promptTokenIds.length,
          reusedPromptTokens: 0,
          computedPromptTokens: request.promptTokenIds.length,
          completionTokens: tokenIds.length,
        },
      });
    }
    return results;
  }
}
