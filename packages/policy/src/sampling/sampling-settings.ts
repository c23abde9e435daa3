import { parse, type SamplingOptions, samplingOptionsSchema, ValidationError } from '@arpo/core';
import type { RowSamplingSettings } from './logits-sampler.js';

/** Sampling options with every default filled in. */
export interface ResolvedSamplingOptions extends RowSamplingSettings {
  maxTokens: number;
  stop: readonly string[];
  seed: number | undefined;
}

/**
 * Validates sampling options at a public boundary (`ValidationError` naming the field, for example `topP`) and
 * fills defaults: temperature 1, top-k off, top-p 1, no stop strings, no top logprobs.
 */
export function resolveSamplingOptions(options: unknown, source?: string): ResolvedSamplingOptions {
  const parsed: SamplingOptions = parse(
    samplingOptionsSchema,
    options,
    source === undefined ? {} : { source },
  );
  return {
    maxTokens: parsed.maxTokens,
    temperature: parsed.temperature ?? 1,
    topK: parsed.topK ?? 0,
    topP: parsed.topP ?? 1,
    topLogprobs: parsed.topLogprobs ?? 0,
    stop: parsed.stop ?? [],
    seed: parsed.seed,
  };
}

/**
 * Checks `requests[index].n` (continuations of one request; default 1): a positive integer, else a
 * `ValidationError` whose `source` names the request and whose `field` is `n`, as sampling errors name theirs.
 */
export function resolveContinuationCount(n: unknown, index: number): number {
  const count = n ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new ValidationError({
      subject: 'generation request',
      source: `requests[${index}]`,
      issues: [{ path: ['n'], message: `must be a positive integer, got ${String(count)}` }],
    });
  }
  return count;
}
