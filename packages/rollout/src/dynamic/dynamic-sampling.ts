import { InvalidArgumentError, type RolloutGroup } from '@arpo/core';
import type { RolloutPrompt } from '../agent/rollout-options.js';

export interface DynamicSamplingOptions {
  /** Prompts to draw from, in order (shuffle them first if you want random draws). */
  prompts: readonly RolloutPrompt[];
  /** Groups wanted in the batch. */
  batchSize: number;
  /** Prompts sampled per round, at least `batchSize` (DAPO oversamples, e.g. 3×). Default 3 × batchSize. */
  promptsPerRound?: number;
  /** Round limit. Default 10. */
  maxRounds?: number;
  /** Rolls out a list of prompts (any sampler). */
  sample: (prompts: readonly RolloutPrompt[], round: number) => Promise<RolloutGroup[]>;
  /**
   * The raw accuracy metric of each trajectory of a group (for example 1 if the answer is correct, else 0).
   * Filter on this, not on a shaped reward: an overlong penalty must not make a group look informative.
   */
  accuracy: (group: RolloutGroup) => readonly number[] | Promise<readonly number[]>;
}

export interface DynamicSamplingResult {
  /** Kept groups, at most `batchSize`. */
  groups: RolloutGroup[];
  /** Rounds it took. */
  rounds: number;
  /** Groups sampled and dropped for zero accuracy spread. */
  dropped: number;
  /** Prompts sampled in all. */
  promptsSampled: number;
  /** True when the batch was filled; false when the prompts or the round limit ran out first. */
  filled: boolean;
  /**
   * What every sampled group cost, kept or dropped: the budget a fair comparison charges DAPO for (dropped groups
   * were generated and their tools executed all the same).
   */
  spent: DynamicSamplingSpend;
}

/** Totals over every group sampled in all rounds. */
export interface DynamicSamplingSpend {
  groups: number;
  trajectories: number;
  computedTokens: number;
  reusedTokens: number;
  toolCalls: number;
}

/** A group is informative when its accuracy varies; as in verl, a single-trajectory group is kept. */
function isInformative(values: readonly number[]): boolean {
  if (values.length === 1) return true;
  for (const value of values) if (value !== values[0]) return true;
  return false;
}

/**
 * DAPO dynamic sampling: oversample prompts, drop groups whose accuracy has zero spread (all right or all
 * wrong: no gradient signal under group-normalised advantages; single-trajectory groups are kept, as verl does),
 * and keep sampling until the batch is full or the round limit is reached.
 */
export async function sampleDynamically(options: DynamicSamplingOptions): Promise<DynamicSamplingResult> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new InvalidArgumentError({
      argument: 'batchSize',
      message: `must be a positive integer, got ${options.batchSize}`,
    });
  }
  const perRound = options.promptsPerRound ?? options.batchSize * 3;
  const maxRounds = options.maxRounds ?? 10;
  const kept: RolloutGroup[] = [];
  let dropped = 0;
  let cursor = 0;
  let rounds = 0;
  const spent: DynamicSamplingSpend = {
    groups: 0,
    trajectories: 0,
    computedTokens: 0,
    reusedTokens: 0,
    toolCalls: 0,
  };
  while (kept.length < options.batchSize && rounds < maxRounds && cursor < options.prompts.length) {
    const prompts = options.prompts.slice(cursor, cursor + perRound);
    cursor += prompts.length;
    rounds += 1;
    const groups = await options.sample(prompts, rounds - 1);
    for (const group of groups) {
      spent.groups += 1;
      spent.trajectories += group.trajectories.length;
      spent.computedTokens += group.statistics.computedTokens;
      spent.reusedTokens += group.statistics.reusedTokens;
      spent.toolCalls += group.statistics.toolCalls;
      if (isInformative(await options.accuracy(group))) {
        if (kept.length < options.batchSize) kept.push(group);
      } else dropped += 1;
    }
  }
  return {
    groups: kept,
    rounds,
    dropped,
    promptsSampled: cursor,
    filled: kept.length === options.batchSize,
    spent,
  };
}
