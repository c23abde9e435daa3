import type { GeneratedSequence, GenerationResult } from '@arpo/core';
import type { NormalizedRequest } from './completion-request.js';
import {
  chatLogprobs,
  choiceText,
  completionLogprobs,
  finishReason,
  type ResponseContext,
  stopReason,
  usageOf,
} from './response-fields.js';

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
