import { type ChatMessage, lazySchema, parse, type Task, ValidationError } from '@arpo/core';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { z } from 'zod';

/** One row of the verl RL parquet schema, as the reference ARPO data files hold it. */
export interface ReferenceRow {
  data_source: string;
  prompt: ChatMessage[];
  ability?: string | null;
  reward_model: { ground_truth: string; style?: string | null };
  extra_info?: Record<string, unknown> | null;
}

const referenceRowSchema = lazySchema<ReferenceRow>('RL parquet row', () =>
  z.object({
    data_source: z.string().min(1),
    prompt: z
      .array(z.object({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: z.string() }))
      .min(1),
    ability: z.string().nullable().optional(),
    reward_model: z.object({ ground_truth: z.string(), style: z.string().nullable().optional() }),
    extra_info: z.record(z.string(), z.unknown()).nullable().optional(),
  }),
);

export interface LoadReferenceParquetOptions {
  /**
   * The reference files' system prompt contains a literal U+0008 (backspace) where `\b` of `\boxed` was meant.
   * `keep` (default) leaves the data as it is; `fix` restores the two characters `\b`.
   */
  backspace?: 'keep' | 'fix';
  /** `throw` (default) stops at the first malformed row; `skip` leaves it out and reports it. */
  onInvalidRow?: 'throw' | 'skip';
  /** Tools the tasks may use. Default ['search', 'python'] (the reference setup). */
  tools?: string[];
}

export interface LoadedReferenceTasks {
  tasks: Task[];
  /** Rows left out with `onInvalidRow: 'skip'`, with the reason. */
  skipped: { row: number; error: ValidationError }[];
}

function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toPlain(inner)]));
  }
  return value;
}

/** Validates one raw row (bigints allowed); the error names `source` and the offending field. */
export function parseReferenceRow(raw: unknown, source: string): ReferenceRow {
  return parse(referenceRowSchema, toPlain(raw), { source });
}

/** Turns one validated reference row into a Task. */
export function referenceRowToTask(
  row: ReferenceRow,
  rowIndex: number,
  options: LoadReferenceParquetOptions = {},
): Task {
  const fix = options.backspace === 'fix';
  const index = row.extra_info?.index;
  return {
    id: `${row.data_source}-${typeof index === 'number' ? index : rowIndex}`,
    prompt: row.prompt.map((message) => ({
      role: message.role,
      content: fix ? message.content.replaceAll('\u0008', '\\b') : message.content,
    })),
    references: [row.reward_model.ground_truth],
    tools: options.tools ?? ['search', 'python'],
    dataSource: row.data_source,
    metadata: { ability: row.ability ?? null, ...(row.extra_info ?? {}) },
  };
}

/**
 * Loads the reference ARPO RL prompts (verl parquet schema: data_source, prompt, ability, reward_model,
 * extra_info) as tasks. Malformed rows raise a ValidationError naming the file, the row and the field.
 */
export async function loadReferenceParquet(
  path: string,
  options: LoadReferenceParquetOptions = {},
): Promise<LoadedReferenceTasks> {
  let rows: Record<string, unknown>[];
  try {
    rows = (await parquetReadObjects({ file: await asyncBufferFromFile(path) })) as Record<string, unknown>[];
  } catch (error) {
    throw new ValidationError({
      subject: 'parquet file',
      source: path,
      issues: [
        {
          path: [],
          message: `cannot be read as parquet: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
      cause: error,
    });
  }
  const tasks: Task[] = [];
  const skipped: LoadedReferenceTasks['skipped'] = [];
  rows.forEach((raw, rowIndex) => {
    try {
      const row = parseReferenceRow(raw, `${path} row ${rowIndex}`);
      tasks.push(referenceRowToTask(row, rowIndex, options));
    } catch (error) {
      if (options.onInvalidRow === 'skip' && ValidationError.isInstance(error))
        skipped.push({ row: rowIndex, error });
      else throw error;
    }
  });
  return { tasks, skipped };
}
