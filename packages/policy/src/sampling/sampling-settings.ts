import { parse, type SamplingOptions, samplingOptionsSchema } from '@arpo/core';
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
