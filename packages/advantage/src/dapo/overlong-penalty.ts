import { InvalidArgumentError, lazySchema, parse, type Reward } from '@arpo/core';
import { z } from 'zod';

/** DAPO's soft overlong punishment (verl `reward_model.overlong_buffer`). */
export type OverlongPenaltyOptions = {
  /** L: the hard response-length cap (verl `data.max_response_length`). */
  maxResponseLength: number;
  /** B: the buffer before the cap where the penalty ramps up (verl `overlong_buffer.len`). */
  bufferLength: number;
  /** f: the penalty at the cap (verl `overlong_buffer.penalty_factor`). Default 1. */
  penaltyFactor?: number;
};

export const overlongPenaltyOptionsSchema = lazySchema<OverlongPenaltyOptions>(
  'overlong penalty options',
  () =>
    z
      .strictObject({
        maxResponseLength: z.number().int().positive(),
        bufferLength: z.number().int().positive(),
        penaltyFactor: z.number().min(0).optional(),
      })
      .refine((value) => value.bufferLength <= value.maxResponseLength, {
        message: 'bufferLength must not exceed maxResponseLength',
        path: ['bufferLength'],
      }),
);

/**
 * min(0, -(length - (L - B)) / B · f): 0 up to L - B tokens, then falling linearly to -f at L (and further
 * beyond). `responseLength` counts response tokens as verl's `valid_response_length` does (tool tokens included).
 */
export function overlongPenalty(responseLength: number, options: OverlongPenaltyOptions): number {
  const parsed = parse(overlongPenaltyOptionsSchema, options);
  if (!(Number.isInteger(responseLength) && responseLength >= 0)) {
    throw new InvalidArgumentError({
      argument: 'responseLength',
      message: `must be a non-negative integer, got ${responseLength}`,
    });
  }
  const expected = parsed.maxResponseLength - parsed.bufferLength;
  const penalty = (-(responseLength - expected) / parsed.bufferLength) * (parsed.penaltyFactor ?? 1);
  // `+ 0` turns the -0 of a response exactly L - B long into +0, so no -0 reward component appears.
  return Math.min(penalty, 0) + 0;
}

/**
 * Adds the overlong penalty to a reward: `total` drops by it and `components.overlong` records it. The raw
 * components (`acc`, ...) are untouched, so dynamic sampling can still filter on them.
 */
export function applyOverlongPenalty(
  reward: Reward,
  responseLength: number,
  options: OverlongPenaltyOptions,
): Reward {
  const penalty = overlongPenalty(responseLength, options);
  return { total: reward.total + penalty, components: { ...reward.components, overlong: penalty } };
}
