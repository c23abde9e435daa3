import type { GeneratedSequence, GenerationResult, Tokenizer } from '@arpo/core';
import { IncrementalDecoder } from '@arpo/policy';
import type { NormalizedRequest } from './completion-request.js';

interface ResponseContext {
  id: string;
  created: number;
  model: string;
  tokenizer: Tokenizer;
}

/** OpenAI finish reasons (EOS and stop strings are both `stop`; vLLM's `stop_reason` tells them apart). */
function finishReason(sequence: GeneratedSequence): string {
  if (sequence.finishReason === 'length') return 'length';
  if (sequence.finishReason === 'abort') return 'abort';
  return 'stop';
}

function stopReason(sequence: GeneratedSequence): string | null {
  return sequence.finishReason === 'stop' ? (sequence.stopString ?? null) : null;
}

function tokenString(tokenId: number, request: NormalizedRequest, tokenizer: Tokenizer): string {
  return request.returnTokensAsTokenIds ? `token_id:${tokenId}` : tokenizer.decode([tokenId]);
}

function choiceText(sequence: GeneratedSequence, request: NormalizedRequest, tokenizer: Tokenizer): string {
  let text = request.skipSpecialTokens
    ? sequence.text
    : tokenizer.decode(sequence.tokenIds, { skipSpecialTokens: false });
  const stop = sequence.stopString;
  if (!request.includeStopStringInOutput && stop !== undefined && text.endsWith(stop))
    text = text.slice(0, text.length - stop.length);
  return text;
}

function usageOf(results: readonly GenerationResult[]) {
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
function completionLogprobs(
  sequence: GeneratedSequence,
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

function chatLogprobs(
  sequence: GeneratedSequence,
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

/** Choices in OpenAI order: prompt by prompt, `n` per prompt. */
function eachChoice(results: readonly GenerationResult[]): GeneratedSequence[] {
  return results.flatMap((result) => result.sequences);
}

/** The non-streaming `/v1/completions` response. */
export function completionBody(
  request: NormalizedRequest,
  results: readonly GenerationResult[],
  context: ResponseContext,
) {
  return {
    id: context.id,
    object: 'text_completion',
    created: context.created,
    model: context.model,
    choices: eachChoice(results).map((sequence, index) => ({
      index,
      text: choiceText(sequence, request, context.tokenizer),
      logprobs:
        request.logprobs === undefined ? null : completionLogprobs(sequence, request, context.tokenizer),
      finish_reason: finishReason(sequence),
      stop_reason: stopReason(sequence),
    })),
    usage: usageOf(results),
  };
}

/** The non-streaming `/v1/chat/completions` response. */
export function chatBody(
  request: NormalizedRequest,
  results: readonly GenerationResult[],
  context: ResponseContext,
) {
  return {
    id: context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    choices: eachChoice(results).map((sequence, index) => ({
      index,
      message: { role: 'assistant', content: choiceText(sequence, request, context.tokenizer) },
      logprobs: request.logprobs === undefined ? null : chatLogprobs(sequence, request, context.tokenizer),
      finish_reason: finishReason(sequence),
      stop_reason: stopReason(sequence),
    })),
    usage: usageOf(results),
  };
}

/**
 * The server-sent-event chunks of a streamed response: one chunk per token per choice (text deltas from an
 * incremental decoder), then each choice's finish chunk, then the usage chunk when `include_usage` was asked.
 */
export function streamChunks(
  request: NormalizedRequest,
  results: readonly GenerationResult[],
  context: ResponseContext,
): unknown[] {
  const chat = request.kind === 'chat';
  const base = {
    id: context.id,
    object: chat ? 'chat.completion.chunk' : 'text_completion',
    created: context.created,
    model: context.model,
  };
  const chunks: unknown[] = [];
  eachChoice(results).forEach((sequence, index) => {
    const finalText = choiceText(sequence, request, context.tokenizer);
    const decoder = new IncrementalDecoder((ids) =>
      context.tokenizer.decode(ids, { skipSpecialTokens: request.skipSpecialTokens }),
    );
    if (chat)
      chunks.push({
        ...base,
        choices: [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
      });
    let sent = 0;
    for (let position = 0; position < sequence.tokenIds.length; position++) {
      let delta = decoder.push(sequence.tokenIds[position] as number);
      // Never send past the final text (a stripped stop string).
      delta = finalText.slice(sent, Math.min(finalText.length, sent + delta.length));
      const logprobs =
        request.logprobs === undefined
          ? null
          : chat
            ? chatLogprobs(sequence, request, context.tokenizer, position, position + 1)
            : completionLogprobs(sequence, request, context.tokenizer, position, position + 1, sent);
      sent += delta.length;
      chunks.push({
        ...base,
        choices: [
          chat
            ? { index, delta: { content: delta }, logprobs, finish_reason: null }
            : { index, text: delta, logprobs, finish_reason: null },
        ],
      });
    }
    const rest = finalText.slice(sent);
    chunks.push({
      ...base,
      choices: [
        {
          index,
          ...(chat ? { delta: rest.length > 0 ? { content: rest } : {} } : { text: rest }),
          logprobs: null,
          finish_reason: finishReason(sequence),
          stop_reason: stopReason(sequence),
        },
      ],
    });
  });
  if (request.includeUsage) chunks.push({ ...base, choices: [], usage: usageOf(results) });
  return chunks;
}
