import { createHash } from 'node:crypto';
import { type ChatMessage, lazySchema } from '@arpo/core';
import type { AgentLoopSettings } from '@arpo/rollout';
import { z } from 'zod';
import type { BenchmarkItem } from '../datasets/benchmark-item.js';
import { ResultsMismatchError } from './results-mismatch-error.js';
import type { SampleRecord } from './sample-record.js';

/** The agent-loop settings that change what a sample is; operational ones (timeouts, concurrency) are left out. */
export const headerSettingKeys = [
  'temperature',
  'topP',
  'topK',
  'maxResponseTokens',
  'maxTurnTokens',
  'maxToolCalls',
  'onToolLimit',
] as const;

/** The first line of a results file: what produced its samples, checked before they are resumed. */
export interface RunHeader {
  type: 'header';
  format: 'arpo-bench-results';
  version: 1;
  seed: number;
  /** The sample-defining agent-loop settings (`headerSettingKeys`); absent keys are defaults. */
  settings: Partial<Pick<AgentLoopSettings, (typeof headerSettingKeys)[number]>>;
  /** The scorer's name. */
  scorer: string;
  /** Tool names, in order. */
  tools: string[];
  /** The items evaluated when the file was started: count and a fingerprint over their fingerprints. */
  dataset: { items: number; fingerprint: string };
  createdAt: string;
}

/** Validates a results file's header line. */
export const runHeaderSchema = lazySchema<RunHeader>(
  'results header',
  () =>
    z.looseObject({
      type: z.literal('header'),
      format: z.literal('arpo-bench-results'),
      version: z.literal(1),
      seed: z.number().int(),
      settings: z.record(z.string(), z.union([z.number(), z.string()])),
      scorer: z.string(),
      tools: z.array(z.string()),
      dataset: z.object({ items: z.number().int().nonnegative(), fingerprint: z.string() }),
      createdAt: z.string(),
    }) as unknown as z.ZodType<RunHeader>,
);

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/**
 * What a sample of an item depends on besides the run settings: the messages it is prompted with (system prompt
 * included), its references and answer kind. Stored in each record, so a changed item is never resumed.
 */
export function itemFingerprint(item: BenchmarkItem, prompt: readonly ChatMessage[]): string {
  return digest([prompt, item.references, item.answerKind]);
}

export function buildRunHeader(input: {
  seed: number;
  settings: AgentLoopSettings;
  scorer: string;
  tools: readonly string[];
  itemFingerprints: readonly string[];
}): RunHeader {
  const settings: RunHeader['settings'] = {};
  for (const key of headerSettingKeys) {
    const value = input.settings[key];
    if (value !== undefined) (settings as Record<string, unknown>)[key] = value;
  }
  return {
    type: 'header',
    format: 'arpo-bench-results',
    version: 1,
    seed: input.seed,
    settings,
    scorer: input.scorer,
    tools: [...input.tools],
    dataset: { items: input.itemFingerprints.length, fingerprint: digest(input.itemFingerprints) },
    createdAt: new Date().toISOString(),
  };
}

const show = (value: unknown) => (value === undefined ? 'unset (the default)' : JSON.stringify(value));

/**
 * Throws `ResultsMismatchError` when `previous` (the file's header) was written with another seed, sampling
 * settings, scorer or tools than `current`, or when a finished record's item changed since (its fingerprint
 * differs). The dataset as a whole may grow or shrink (a larger `limit`, a fixed bad record): only the items
 * both runs share are compared.
 */
export function checkRunHeader(input: {
  file: string;
  previous: RunHeader;
  current: RunHeader;
  records: readonly SampleRecord[];
  fingerprints: ReadonlyMap<string, string>;
}): void {
  const { file, previous, current } = input;
  const mismatch = (field: string, before: unknown, now: unknown) =>
    new ResultsMismatchError({ file, field, previous: show(before), current: show(now) });
  if (previous.seed !== current.seed) throw mismatch('seed', previous.seed, current.seed);
  for (const key of headerSettingKeys) {
    if (previous.settings[key] !== current.settings[key])
      throw mismatch(`settings.${key}`, previous.settings[key], current.settings[key]);
  }
  if (previous.scorer !== current.scorer) throw mismatch('scorer', previous.scorer, current.scorer);
  if (previous.tools.join(',') !== current.tools.join(','))
    throw mismatch('tools', previous.tools, current.tools);
  for (const record of input.records) {
    const now = input.fingerprints.get(record.itemId);
    if (now !== undefined && record.itemFingerprint !== now) {
      throw mismatch(`item ${record.itemId} (prompt, references, answer kind)`, record.itemFingerprint, now);
    }
  }
}
