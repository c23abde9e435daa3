import {
  AbortedError,
  ContextLengthError,
  deriveSeed,
  type GeneratedSequence,
  type GenerationRequest,
  type GenerationResult,
  type Policy,
  type PolicyStatistics,
  parse,
  samplingOptionsSchema,
  type Tokenizer,
} from '@arpo/core';
import { createByteTokenizer } from './byte-tokenizer.js';

/** What the script sees when asked to continue a context. */
export interface ScriptContext {
  /** Decoded context (prompt plus everything appended so far), special tokens included. */
  contextText: string;
  contextTokenIds: Int32Array;
  /** Index of this continuation among the request's `n`. */
  sampleIndex: number;
  /** The per-continuation seed (the request seed, derived per sample when n > 1). */
  seed: number | undefined;
  /** How many `generate` calls the policy has served before this one. */
  callIndex: number;
}

/** The scripted continuation: text, and whether the model "emits EOS" when the text is fully produced. */
export interface ScriptedTurn {
  text: string;
  /** Default true: after the text the model emits EOS (unless a stop string or max tokens ends it first). */
  endWithEos?: boolean;
  /**
   * Raw token ids emitted instead of `text` (which is then ignored), for output no string encodes, such as
   * invalid UTF-8 byte sequences. Stop strings, max tokens and `endWithEos` apply as for text.
   */
  tokenIds?: readonly number[];
}

export interface ScriptedPolicyOptions {
  /** Decides the continuation for a context. */
  respond: (context: ScriptContext) => string | ScriptedTurn;
  tokenizer?: Tokenizer;
  /** Default 4096. */
  contextLength?: number;
  /** Entropy (nats) reported at each generated position. Default: a deterministic function of the token. */
  entropy?: (context: ScriptContext, position: number, tokenId: number) => number;
  /** Logprob reported for each generated token. Default -0.25. */
  logprob?: (context: ScriptContext, position: number, tokenId: number) => number;
  /**
   * Top logprobs (descending) reported at each generated position when the request asks for
   * `sampling.topLogprobs > 0`; the first `topLogprobs` of them are returned. Their token ids are the sampled
   * token, then the following ids in vocabulary order. Default: none are reported (like a runtime without
   * top-logprob support).
   */
  topLogprobs?: (context: ScriptContext, position: number, tokenId: number) => readonly number[];
  id?: string;
}

/** A Policy whose continuations come from a script: for unit tests of rollout and training control logic. */
export interface ScriptedPolicy extends Policy {
  /** Every context the policy was asked to continue, in order. */
  readonly contexts: string[];
}

function commonPrefixLength(first: Int32Array, second: Int32Array): number {
  const limit = Math.min(first.length, second.length);
  let index = 0;
  while (index < limit && first[index] === second[index]) index++;
  return index;
}

/**
 * A deterministic scripted policy. It honours max tokens, stop strings (kept in the output, first one to
 * complete wins), EOS, `n` and seeds, reports usage with prefix reuse against every earlier context (like an
 * automatic prefix cache), and passes the Policy conformance suite.
 */
export function createScriptedPolicy(options: ScriptedPolicyOptions): ScriptedPolicy {
  const tokenizer = options.tokenizer ?? createByteTokenizer();
  const contextLength = options.contextLength ?? 4096;
  const seen: Int32Array[] = [];
  const contexts: string[] = [];
  const statistics: PolicyStatistics = {
    computedTokens: 0,
    reusedTokens: 0,
    generatedTokens: 0,
    requests: 0,
  };
  let callIndex = 0;
  const eos = tokenizer.specialTokens.eos;
  const entropyOf =
    options.entropy ??
    ((_context: ScriptContext, _position: number, tokenId: number) => 0.5 + (tokenId % 7) * 0.1);
  const logprobOf = options.logprob ?? (() => -0.25);
  const vocabularySize = tokenizer.vocabularySize;

  function topLogprobsOf(context: ScriptContext, position: number, tokenId: number, count: number) {
    const logprobs = Float32Array.from(options.topLogprobs?.(context, position, tokenId) ?? []).subarray(
      0,
      count,
    );
    const tokenIds = new Int32Array(logprobs.length);
    for (let rank = 0; rank < tokenIds.length; rank++) tokenIds[rank] = (tokenId + rank) % vocabularySize;
    return { tokenIds, logprobs };
  }

  function continueOnce(request: GenerationRequest, context: ScriptContext): GeneratedSequence {
    const sampling = request.sampling;
    const scripted = options.respond(context);
    const turn = typeof scripted === 'string' ? { text: scripted } : scripted;
    const scriptedIds = Array.from(turn.tokenIds ?? tokenizer.encode(turn.text));
    if (turn.endWithEos !== false) scriptedIds.push(eos);
    const tokenIds: number[] = [];
    let finishReason: GeneratedSequence['finishReason'] = 'length';
    let stopString: string | undefined;
    for (const tokenId of scriptedIds) {
      if (tokenIds.length >= sampling.maxTokens) break;
      tokenIds.push(tokenId);
      if (tokenId === eos) {
        finishReason = 'eos';
        break;
      }
      const text = tokenizer.decode(tokenIds, { skipSpecialTokens: true });
      const fired = sampling.stop?.find((stop) => text.endsWith(stop));
      if (fired !== undefined) {
        finishReason = 'stop';
        stopString = fired;
        break;
      }
    }
    if (finishReason === 'length' && tokenIds.length < sampling.maxTokens) {
      // The script ran out without EOS: the model "keeps talking"; report it as a length stop at the end.
      finishReason = 'length';
    }
    const ids = Int32Array.from(tokenIds);
    const logprobs = new Float32Array(ids.length);
    const entropies = new Float32Array(ids.length);
    ids.forEach((tokenId, position) => {
      logprobs[position] = logprobOf(context, position, tokenId);
      entropies[position] = entropyOf(context, position, tokenId);
    });
    const sequence: GeneratedSequence = {
      tokenIds: ids,
      logprobs,
      entropies,
      finishReason,
      text: tokenizer.decode(ids, { skipSpecialTokens: true }),
    };
    if (stopString !== undefined) sequence.stopString = stopString;
    const topCount = sampling.topLogprobs ?? 0;
    if (options.topLogprobs !== undefined && topCount > 0) {
      sequence.topLogprobs = Array.from(ids, (tokenId, position) =>
        topLogprobsOf(context, position, tokenId, topCount),
      );
    }
    return sequence;
  }

  const policy: ScriptedPolicy = {
    id: options.id ?? 'scripted',
    tokenizer,
    vocabularySize: tokenizer.vocabularySize,
    contextLength,
    capabilities: { entropy: 'exact', logits: false, trainable: false, prefixReuse: true },
    contexts,
    async generate(requests, generateOptions) {
      if (generateOptions?.signal?.aborted) throw new AbortedError({ operation: 'generate' });
      const results: GenerationResult[] = [];
      for (const request of requests) {
        parse(samplingOptionsSchema, request.sampling);
        const promptIds = Int32Array.from(request.promptTokenIds);
        if (promptIds.length >= contextLength) {
          throw new ContextLengthError({ promptTokens: promptIds.length, contextLength });
        }
        let reused = 0;
        for (const previous of seen) reused = Math.max(reused, commonPrefixLength(previous, promptIds));
        seen.push(promptIds);
        const contextText = tokenizer.decode(promptIds);
        contexts.push(contextText);
        const n = request.n ?? 1;
        const sequences: GeneratedSequence[] = [];
        for (let sampleIndex = 0; sampleIndex < n; sampleIndex++) {
          const seed = request.sampling.seed;
          const sampleSeed = seed === undefined || n === 1 ? seed : deriveSeed(seed, sampleIndex);
          const context = {
            contextText,
            contextTokenIds: promptIds,
            sampleIndex,
            seed: sampleSeed,
            callIndex,
          };
          const sequence = continueOnce(
            {
              ...request,
              sampling: {
                ...request.sampling,
                maxTokens: Math.min(request.sampling.maxTokens, contextLength - promptIds.length),
              },
            },
            context,
          );
          sequences.push(sequence);
          statistics.generatedTokens += sequence.tokenIds.length;
        }
        const completionTokens = sequences.reduce((sum, sequence) => sum + sequence.tokenIds.length, 0);
        statistics.computedTokens += promptIds.length - reused + completionTokens;
        statistics.reusedTokens += reused;
        statistics.requests += 1;
        results.push({
          sequences,
          usage: {
            promptTokens: promptIds.length,
            reusedPromptTokens: reused,
            computedPromptTokens: promptIds.length - reused,
            completionTokens,
          },
        });
      }
      callIndex += 1;
      return results;
    },
    statistics: () => ({ ...statistics }),
    async close() {},
  };
  return policy;
}
