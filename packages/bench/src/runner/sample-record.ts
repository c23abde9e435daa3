import { lazySchema } from '@arpo/core';
import { z } from 'zod';
import type { SampleToolCall } from '../metrics/tool-usage.js';
import type { ExtractionMethod } from '../scorers/extract-answer.js';

/** One segment of a sample's transcript: model text or the tool results appended after it. */
export interface TranscriptSegment {
  kind: 'model' | 'tool';
  text: string;
  /** Model segments: why the turn ended. */
  finishReason?: string;
  /** Tool segments: the calls whose results the text holds. */
  calls?: { tool: string; input: unknown; ok: boolean; errorCode?: string; latencyMs: number }[];
}

/** One finished, scored sample: a line of the results file. */
export interface SampleRecord {
  type: 'sample';
  itemId: string;
  /** 0-based index among the item's n samples. */
  sampleIndex: number;
  dataSource: string;
  seed: number;
  correct: boolean;
  score: number;
  extracted: string | null;
  extraction: ExtractionMethod;
  answerKey: string | null;
  method: string;
  references: string[];
  finishReason: string;
  /** Executed tool calls (refused calls over the limit are counted in `refusedToolCalls`). */
  toolCalls: SampleToolCall[];
  refusedToolCalls: number;
  tokens: { prompt: number; response: number; model: number; tool: number };
  /**
   * Wall time from the start of the sample's rollout to its score. With `batchSize` > 1 the samples of a batch
   * are generated together, so each one's latency runs from the batch's start to its own score: the batch's
   * generation time, not what the sample alone would take.
   */
  latencyMs: number;
  /** Samples that shared this sample's rollout (the runner's `batchSize`, or fewer for the last batch). */
  batchSize?: number;
  /** The item's fingerprint (`itemFingerprint`: prompt, references, answer kind) when the sample was made. */
  itemFingerprint?: string;
  /** The decoded response. */
  response: string;
  transcript?: TranscriptSegment[];
  details?: Record<string, number | string | boolean>;
  /** ISO time the sample finished. */
  finishedAt: string;
}

/** Validates a results-file line when a run resumes. */
export const sampleRecordSchema = lazySchema<SampleRecord>(
  'results record',
  () =>
    z.looseObject({
      type: z.literal('sample'),
      itemId: z.string().min(1),
      sampleIndex: z.number().int().nonnegative(),
      dataSource: z.string(),
      seed: z.number().int(),
      correct: z.boolean(),
      score: z.number(),
      extracted: z.string().nullable(),
      extraction: z.enum(['answer-boxed', 'answer-span', 'boxed', 'last-number', 'none']),
      answerKey: z.string().nullable(),
      method: z.string(),
      references: z.array(z.string()),
      finishReason: z.string(),
      toolCalls: z.array(
        z.object({
          tool: z.string(),
          ok: z.boolean(),
          errorCode: z.string().optional(),
          latencyMs: z.number().nonnegative(),
        }),
      ),
      refusedToolCalls: z.number().int().nonnegative(),
      tokens: z.object({
        prompt: z.number().int().nonnegative(),
        response: z.number().int().nonnegative(),
        model: z.number().int().nonnegative(),
        tool: z.number().int().nonnegative(),
      }),
      latencyMs: z.number().nonnegative(),
      batchSize: z.number().int().positive().optional(),
      itemFingerprint: z.string().optional(),
      response: z.string(),
      finishedAt: z.string(),
    }) as unknown as z.ZodType<SampleRecord>,
);
