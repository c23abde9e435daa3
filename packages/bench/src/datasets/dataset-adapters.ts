import { type ChatMessage, formatPath, type LazySchema, lazySchema } from '@arpo/core';
import { z } from 'zod';
import type { AnswerKind, BenchmarkItem } from './benchmark-item.js';
import { DatasetRecordError, type RecordLocation } from './dataset-record-error.js';

/** Turns one raw record into a benchmark item, or throws a `DatasetRecordError` naming the field. */
export interface DatasetAdapter {
  readonly name: string;
  toItem(value: unknown, location: RecordLocation): BenchmarkItem;
}

/** Validates a record with a lazy schema; the first issue becomes a `DatasetRecordError` naming its field. */
export function parseRecord<T>(schema: LazySchema<T>, value: unknown, location: RecordLocation): T {
  const result = schema.schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = (issue?.path ?? []).map((part) => (typeof part === 'symbol' ? String(part) : part));
  throw new DatasetRecordError({
    ...location,
    field: path.length === 0 ? '(record)' : formatPath(path),
    reason: issue === undefined ? 'invalid record' : issue.message,
    cause: result.error,
  });
}

const identifier = () => z.union([z.string(), z.number()]);
const nonEmptyText = () => z.string().min(1, 'must be a non-empty string');
const answerList = () => z.array(z.union([z.string(), z.number()])).min(1, 'must list at least one answer');

function idOf(dataset: string, record: Record<string, unknown>, location: RecordLocation): string {
  const own = record.id ?? record.idx ?? record.index;
  return `${dataset}-${typeof own === 'string' || typeof own === 'number' ? own : location.record}`;
}

function metadataOf(record: Record<string, unknown>, omit: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !omit.includes(key)));
}

/** The final answer of a GSM8K solution: the text after the last `####`, thousands separators removed. */
export function gsm8kFinalAnswer(solution: string): string | undefined {
  const marker = solution.lastIndexOf('####');
  if (marker < 0) return undefined;
  const answer = solution
    .slice(marker + 4)
    .trim()
    .replace(/(\d),(?=\d{3}\b)/g, '$1');
  return answer === '' ? undefined : answer;
}

const gsm8kSchema = lazySchema('gsm8k record', () =>
  z.looseObject({ question: nonEmptyText(), answer: nonEmptyText(), idx: identifier().optional() }),
);

/** GSM8K (`question`, `answer` = full solution ending in `#### <number>`). */
export const gsm8kAdapter: DatasetAdapter = {
  name: 'gsm8k',
  toItem(value, location) {
    const record = parseRecord(gsm8kSchema, value, location);
    const final = gsm8kFinalAnswer(record.answer);
    if (final === undefined) {
      throw new DatasetRecordError({
        ...location,
        field: 'answer',
        reason: "has no '#### <number>' final answer",
      });
    }
    return {
      id: idOf('gsm8k', record, location),
      question: record.question,
      references: [final],
      answerKind: 'numeric',
      dataSource: 'gsm8k',
      metadata: { ...metadataOf(record, ['question', 'answer']), solution: record.answer },
      location,
    };
  },
};

const mathSchema = lazySchema('math record', () =>
  z
    .looseObject({
      question: nonEmptyText().optional(),
      problem: nonEmptyText().optional(),
      answer: z.union([z.string().min(1, 'must be a non-empty string'), z.number()]),
      id: identifier().optional(),
    })
    .refine((record) => record.question !== undefined || record.problem !== undefined, {
      message: "needs a 'question' or 'problem' string",
      path: ['question'],
    }),
);

/** A math set with one LaTeX or numeric answer per problem (math500, aime24, aime25). */
export function createMathAdapter(dataset: string): DatasetAdapter {
  return {
    name: dataset,
    toItem(value, location) {
      const record = parseRecord(mathSchema, value, location);
      return {
        id: idOf(dataset, record, location),
        question: (record.problem ?? record.question) as string,
        references: [String(record.answer)],
        answerKind: 'math',
        dataSource: dataset,
        metadata: metadataOf(record, ['question', 'problem', 'answer']),
        location,
      };
    },
  };
}

const qaSchema = lazySchema('question-answering record', () =>
  z.looseObject({
    question: nonEmptyText(),
    answer: z.union([answerList(), z.string().min(1, 'must be a non-empty string or a list'), z.number()]),
    id: identifier().optional(),
  }),
);

/** A multi-hop QA set whose `answer` is a list of aliases (hotpotqa, 2wiki, musique, bamboogle). */
export function createQaAdapter(dataset: string): DatasetAdapter {
  return {
    name: dataset,
    toItem(value, location) {
      const record = parseRecord(qaSchema, value, location);
      const answers = Array.isArray(record.answer) ? record.answer : [record.answer];
      return {
        id: idOf(dataset, record, location),
        question: record.question,
        references: answers.map(String),
        answerKind: 'text',
        dataSource: dataset,
        metadata: metadataOf(record, ['question', 'answer']),
        location,
      };
    },
  };
}

const verlSchema = lazySchema('verl RL parquet row', () =>
  z.looseObject({
    data_source: nonEmptyText(),
    prompt: z
      .array(z.object({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: z.string() }))
      .min(1, 'must hold at least one message'),
    ability: z.string().nullable().optional(),
    reward_model: z.looseObject({ ground_truth: z.union([z.string(), z.array(z.string()).min(1)]) }),
    extra_info: z.record(z.string(), z.unknown()).nullable().optional(),
  }),
);

const mathAbilities = new Set(['math', 'mathematics']);

export interface VerlAdapterOptions {
  /**
   * The reference ARPO parquet files hold a literal U+0008 where `\b` of `\boxed` was meant. `keep` (default)
   * leaves the prompt as it is; `fix` restores `\b`.
   */
  backspace?: 'keep' | 'fix';
}

/**
 * The verl RL parquet schema (`data_source`, `prompt` messages, `ability`, `reward_model.ground_truth`,
 * `extra_info`). The item keeps the row's prompt; `ability: math` rows are scored as math, others as text.
 */
export function createVerlAdapter(options: VerlAdapterOptions = {}): DatasetAdapter {
  const fix = options.backspace === 'fix';
  return {
    name: 'verl',
    toItem(value, location) {
      const record = parseRecord(verlSchema, value, location);
      const extra = record.extra_info ?? {};
      const user = record.prompt.findLast((message) => message.role === 'user');
      const question = typeof extra.question === 'string' ? extra.question : (user?.content ?? '');
      const groundTruth = record.reward_model.ground_truth;
      const index = extra.index;
      const answerKind: AnswerKind = mathAbilities.has(record.ability ?? '') ? 'math' : 'text';
      const prompt: ChatMessage[] = record.prompt.map((message) => ({
        role: message.role,
        content: fix ? message.content.replaceAll('\u0008', '\\b') : message.content,
      }));
      return {
        id: `${record.data_source}-${typeof index === 'number' || typeof index === 'string' ? index : location.record}`,
        question,
        references: Array.isArray(groundTruth) ? groundTruth : [groundTruth],
        answerKind,
        dataSource: record.data_source,
        prompt,
        metadata: { ability: record.ability ?? null, ...extra },
        location,
      };
    },
  };
}

/** The adapters known by name. */
export const knownAdapterNames = [
  'gsm8k',
  'math500',
  'aime24',
  'aime25',
  'hotpotqa',
  '2wiki',
  'musique',
  'bamboogle',
  'verl',
] as const;

export type KnownAdapterName = (typeof knownAdapterNames)[number];

/** The adapter for a known dataset name. */
export function adapterByName(name: KnownAdapterName, options: VerlAdapterOptions = {}): DatasetAdapter {
  switch (name) {
    case 'gsm8k':
      return gsm8kAdapter;
    case 'math500':
    case 'aime24':
    case 'aime25':
      return createMathAdapter(name);
    case 'verl':
      return createVerlAdapter(options);
    default:
      return createQaAdapter(name);
  }
}

/**
 * Guesses the adapter from a path: a known dataset name as a folder or file name (`gsm8k/test.jsonl`,
 * `hotpotqa.jsonl`), else `verl` for Parquet files; undefined when nothing matches.
 */
export function adapterNameForPath(path: string): KnownAdapterName | undefined {
  const parts = path
    .toLowerCase()
    .split(/[\\/]/)
    .map((part) => part.replace(/\.(jsonl|ndjson|json|parquet)$/, ''));
  for (let index = parts.length - 1; index >= 0; index--) {
    const part = parts[index] as string;
    const match = knownAdapterNames.find(
      (name) => part === name || part.startsWith(`${name}_`) || part.startsWith(`${name}-`),
    );
    if (match !== undefined) return match;
  }
  return path.toLowerCase().endsWith('.parquet') ? 'verl' : undefined;
}
