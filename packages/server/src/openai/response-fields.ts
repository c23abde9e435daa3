import type { GeneratedSequence, GenerationResult, Tokenizer } from '@arpo/core';
import type { NormalizedRequest } from './completion-request.js';

/** The per-token arrays of a sequence (or of one streamed token) that logprobs are built from. */
export type TokenStatistics = Pick<GeneratedSequence, 'tokenIds' | 'logprobs' | 'entropies' | 'topLogprobs'>;

/** What every response of one HTTP request shares. */
export interface ResponseContext {
  id: string;
  created: number;
  model: string;
  tokenizer: Tokenizer;
}

/** OpenAI finish reasons (EOS and stop strings are both `stop`; vLLM's `stop_reason` tells them apart). */
export function finishReason(sequence: GeneratedSequence): string {
  if (sequence.finishReason === 'length') return 'length';
  if (sequence.finishReason === 'abort') return 'abort';
  return 'stop';
}

export function stopReason(sequence: GeneratedSequence): string | null {
  return sequence.finishReason === 'stop' ? (sequence.stopString ?? null) : null;
}

export function tokenString(tokenId: number, request: NormalizedRequest, tokenizer: Tokenizer): string {
  return request.returnTokensAsTokenIds ? `token_id:${tokenId}` : tokenizer.decode([tokenId]);
}

export function choiceText(
  sequence: GeneratedSequence,
  request: NormalizedRequest,
  tokenizer: Tokenizer,
): string {
  let text = request.skipSpecialTokens
    ? sequence.text
    : tokenizer.decode(sequence.tokenIds, { skipSpecialTokens: false });
  const stop = sequence.stopString;
  if (!request.includeStopStringInOutput && stop !== undefined && text.endsWith(stop))
    text = text.slice(0, text.length - stop.length);
  return text;
}

export function usageOf(results: readonly GenerationResult[]) {
  let prompt = 0;
  let completion = 0;
  let cached = 0;
  for (const result of results) {
    prompt += result.usage.promptTokens;
    completion += result.usage.completionTokens;
    cached += result.usage.reusedPromptTokens;
  }
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

/** Legacy completions logprobs, plus ARPO.ts's `token_entropies` extension (exact entropy per token, nats). */
export function completionLogprobs(
  sequence: TokenStatistics,
  request: NormalizedRequest,
  tokenizer: Tokenizer,
  from = 0,
  to = sequence.tokenIds.length,
  textOffset = 0,
) {
  const tokens: string[] = [];
  const tokenLogprobs: number[] = [];
  const topLogprobs: Record<string, number>[] = [];
  const entropies: number[] = [];
  const offsets: number[] = [];
  let offset = textOffset;
  for (let position = from; position < to; position++) {
    const tokenId = sequence.tokenIds[position] as number;
    tokens.push(tokenString(tokenId, request, tokenizer));
    tokenLogprobs.push(sequence.logprobs[position] as number);
    entropies.push(sequence.entropies[position] as number);
    offsets.push(offset);
    offset += tokenizer.decode([tokenId], { skipSpecialTokens: request.skipSpecialTokens }).length;
    const top: Record<string, number> = {};
    const alternatives = sequence.topLogprobs?.[position];
    if (alternatives !== undefined) {
      alternatives.tokenIds.forEach((id, index) => {
        const key = tokenString(id, request, tokenizer);
        if (!(key in top)) top[key] = alternatives.logprobs[index] as number;
      });
    }
    topLogprobs.push(top);
  }
  return {
    tokens,
    token_logprobs: tokenLogprobs,
    top_logprobs: topLogprobs,
    text_offset: offsets,
    token_entropies: entropies,
  };
}

export function chatLogprobs(
  sequence: TokenStatistics,
  request: NormalizedRequest,
  tokenizer: Tokenizer,
  from = 0,
  to = sequence.tokenIds.length,
) {
  const content = [];
  for (let position = from; position < to; position++) {
    const tokenId = sequence.tokenIds[position] as number;
    const token = tokenString(tokenId, request, tokenizer);
    const alternatives = sequence.topLogprobs?.[position];
    content.push({
      token,
      logprob: sequence.logprobs[position] as number,
      bytes: [...Buffer.from(token, 'utf8')],
      entropy: sequence.entropies[position] as number,
      top_logprobs:
        alternatives === undefined
          ? []
          : Array.from(alternatives.tokenIds, (id, index) => {
              const alternative = tokenString(id, request, tokenizer);
              return {
                token: alternative,
                logprob: alternatives.logprobs[index] as number,
                bytes: [...Buffer.from(alternative, 'utf8')],
              };
            }),
    });
  }
  return { content };
}
