import type { GenerationResult } from '@arpo/core';
import { IncrementalDecoder } from '@arpo/policy';
import type { NormalizedRequest } from './completion-request.js';
import {
  chatLogprobs,
  choiceText,
  completionLogprobs,
  finishReason,
  type ResponseContext,
  stopReason,
  type TokenStatistics,
  usageOf,
} from './response-fields.js';

/** One sampled token of a choice, as `GenerateOptions.onToken` reports it. */
export interface StreamedToken {
  tokenId: number;
  logprob: number;
  entropy: number;
  topLogprobs?: { tokenIds: Int32Array; logprobs: Float32Array };
}

interface ChoiceState {
  decoder: IncrementalDecoder;
  /** Text the decoder has made final so far. */
  decoded: string;
  /** Characters of `decoded` already sent. */
  sent: number;
  /** Tokens already turned into chunks. */
  tokens: number;
  /** `text_offset` of the next token (the same running sum the non-streamed logprobs use). */
  textOffset: number;
}

/**
 * Builds the server-sent-event chunks of one streamed response as tokens arrive: `opening()` (chat's role
 * chunks), then `token()` per sampled token (one chunk each, its text delta decoded incrementally so multi-byte
 * UTF-8 characters split over tokens arrive whole), then `finish()` with the results (chunks for tokens never
 * reported, each choice's finish chunk with the rest of its text, and the usage chunk when `include_usage`).
 *
 * When stop strings are cut from the output (`include_stop_str_in_output` false), the last `longest stop`
 * characters are held back (the token completing a stop string is reported before the sequence ends), so the
 * deltas always concatenate to exactly the non-streamed text.
 */
export class CompletionChunker {
  private readonly choices: ChoiceState[];
  private readonly holdBack: number;
  private readonly chat: boolean;
  private readonly base: { id: string; object: string; created: number; model: string };

  constructor(
    private readonly request: NormalizedRequest,
    private readonly context: ResponseContext,
  ) {
    this.chat = request.kind === 'chat';
    this.base = {
      id: context.id,
      object: this.chat ? 'chat.completion.chunk' : 'text_completion',
      created: context.created,
      model: context.model,
    };
    const stops = request.sampling.stop ?? [];
    this.holdBack = request.includeStopStringInOutput ? 0 : Math.max(0, ...stops.map((stop) => stop.length));
    const decode = (tokenIds: ArrayLike<number>) =>
      context.tokenizer.decode(tokenIds, { skipSpecialTokens: request.skipSpecialTokens });
    this.choices = Array.from({ length: request.prompts.length * request.n }, () => ({
      decoder: new IncrementalDecoder(decode),
      decoded: '',
      sent: 0,
      tokens: 0,
      textOffset: 0,
    }));
  }

  /** Chunks to send before any token: chat's `role: assistant` delta per choice; nothing for completions. */
  opening(): unknown[] {
    if (!this.chat) return [];
    return this.choices.map((_, index) => ({
      ...this.base,
      choices: [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    }));
  }

  /** Tokens of choice `index` turned into chunks so far. */
  tokensOf(index: number): number {
    return (this.choices[index] as ChoiceState).tokens;
  }

  /** The chunk of the next token of choice `index` (`prompt index × n + sequence index`). */
  token(index: number, token: StreamedToken): unknown {
    const choice = this.choices[index] as ChoiceState;
    choice.tokens++;
    choice.decoded += choice.decoder.push(token.tokenId);
    let sendable = Math.max(choice.sent, choice.decoded.length - this.holdBack);
    // Never split a surrogate pair (an emoji) between two chunks.
    if (sendable > choice.sent && isHighSurrogate(choice.decoded.charCodeAt(sendable - 1))) sendable--;
    const delta = choice.decoded.slice(choice.sent, sendable);
    choice.sent = sendable;
    let logprobs: unknown = null;
    if (this.request.logprobs !== undefined) {
      const statistics: TokenStatistics = {
        tokenIds: Int32Array.of(token.tokenId),
        logprobs: Float32Array.of(token.logprob),
        entropies: Float32Array.of(token.entropy),
      };
      if (token.topLogprobs !== undefined) statistics.topLogprobs = [token.topLogprobs];
      if (this.chat) logprobs = chatLogprobs(statistics, this.request, this.context.tokenizer);
      else {
        logprobs = completionLogprobs(
          statistics,
          this.request,
          this.context.tokenizer,
          0,
          1,
          choice.textOffset,
        );
        choice.textOffset += this.context.tokenizer.decode([token.tokenId], {
          skipSpecialTokens: this.request.skipSpecialTokens,
        }).length;
      }
    }
    return {
      ...this.base,
      choices: [
        this.chat
          ? { index, delta: { content: delta }, logprobs, finish_reason: null }
          : { index, text: delta, logprobs, finish_reason: null },
      ],
    };
  }

  /**
   * The closing chunks once generation is done: chunks for tokens the policy never reported (a policy that
   * returns whole results, such as RemotePolicy), then per choice its finish chunk carrying the rest of the
   * text, `finish_reason` and `stop_reason`, then the usage chunk when asked.
   */
  finish(results: readonly GenerationResult[]): unknown[] {
    const chunks: unknown[] = [];
    const sequences = results.flatMap((result) => result.sequences);
    sequences.forEach((sequence, index) => {
      const choice = this.choices[index] as ChoiceState;
      for (let position = choice.tokens; position < sequence.tokenIds.length; position++) {
        const token: StreamedToken = {
          tokenId: sequence.tokenIds[position] as number,
          logprob: sequence.logprobs[position] as number,
          entropy: sequence.entropies[position] as number,
        };
        const top = sequence.topLogprobs?.[position];
        if (top !== undefined) token.topLogprobs = top;
        chunks.push(this.token(index, token));
      }
      const rest = choiceText(sequence, this.request, this.context.tokenizer).slice(choice.sent);
      chunks.push({
        ...this.base,
        choices: [
          {
            index,
            ...(this.chat ? { delta: rest.length > 0 ? { content: rest } : {} } : { text: rest }),
            logprobs: null,
            finish_reason: finishReason(sequence),
            stop_reason: stopReason(sequence),
          },
        ],
      });
    });
    if (this.request.includeUsage) chunks.push({ ...this.base, choices: [], usage: usageOf(results) });
    return chunks;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * All server-sent-event chunks of a streamed response at once, from finished results: what a live stream sends
 * when the policy reports no tokens while decoding (see `CompletionChunker`).
 */
export function streamChunks(
  request: NormalizedRequest,
  results: readonly GenerationResult[],
  context: ResponseContext,
): unknown[] {
  const chunker = new CompletionChunker(request, context);
  return [...chunker.opening(), ...chunker.finish(results)];
}
