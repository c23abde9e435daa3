import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { DatasetFileError, DatasetRecordError, type RecordLocation } from './dataset-record-error.js';

/** A raw record of a dataset file with its location. */
export interface RawRecord {
  location: RecordLocation;
  value: unknown;
}

/** The result of reading raw records: good ones in order, and the ones that could not be parsed. */
export interface RawRecords {
  records: RawRecord[];
  invalid: DatasetRecordError[];
}

export type DatasetFormat = 'jsonl' | 'json' | 'parquet';

/** The format of a dataset file from its extension (`.jsonl`/`.ndjson`, `.json`, `.parquet`). */
export function formatFromPath(path: string): DatasetFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (extension === '.json') return 'json';
  if (extension === '.parquet') return 'parquet';
  throw new DatasetFileError({
    file: path,
    reason: `unknown format '${extension}' (expected .jsonl, .ndjson, .json or .parquet; or pass format)`,
  });
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new DatasetFileError({ file: path, reason: (error as Error).message, cause: error });
  }
}

/**
 * Parses JSON Lines text: one JSON value per line; blank lines are skipped. A line that is not valid JSON becomes
 * a `DatasetRecordError` naming the file and line (it does not stop the other lines).
 */
export function parseJsonLines(text: string, file: string): RawRecords {
  const records: RawRecord[] = [];
  const invalid: DatasetRecordError[] = [];
  const lines = text.split('\n');
  let record = 0;
  lines.forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const location = { file, line: index + 1, record };
    record += 1;
    try {
      records.push({ location, value: JSON.parse(line) });
    } catch (error) {
      invalid.push(
        new DatasetRecordError({
          ...location,
          field: '(record)',
          reason: `not valid JSON (${(error as Error).message})`,
          cause: error,
        }),
      );
    }
  });
  return { records, invalid };
}

/** Reads a JSON Lines file. */
export async function readJsonLines(path: string): Promise<RawRecords> {
  return parseJsonLines(await readText(path), path);
}

/**
 * Reads a JSON file holding an array of records, or an object with one array property (`{"data": [...]}`, as
 * Hugging Face dataset exports have).
 */
export async function readJsonArray(path: string): Promise<RawRecords> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(path));
  } catch (error) {
    if (DatasetFileError.isInstance(error)) throw error;
    throw new DatasetFileError({
      file: path,
      reason: `not valid JSON (${(error as Error).message})`,
      cause: error,
    });
  }
  let array: unknown[] | undefined;
  if (Array.isArray(parsed)) array = parsed;
  else if (parsed !== null && typeof parsed === 'object') {
    const arrays = Object.values(parsed).filter((value) => Array.isArray(value));
    if (arrays.length === 1) array = arrays[0] as unknown[];
  }
  if (array === undefined) {
    throw new DatasetFileError({
      file: path,
      reason: 'expected a JSON array of records or an object with exactly one array property',
    });
  }
  return {
    records: array.map((value, record) => ({ location: { file: path, line: undefined, record }, value })),
    invalid: [],
  };
}

/** Parquet INT64 columns arrive as bigint; datasets want plain numbers. */
function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toPlain(inner)]));
  }
  return value;
}

/** Reads every row of a Parquet file (with hyparquet) as plain objects. */
export async function readParquetRows(path: string): Promise<RawRecords> {
  let rows: unknown[];
  try {
    rows = await parquetReadObjects({ file: await asyncBufferFromFile(path) });
  } catch (error) {
    throw new DatasetFileError({
      file: path,
      reason: `cannot be read as Parquet (${(error as Error).message})`,
      cause: error,
    });
  }
  return {
    records: rows.map((value, record) => ({
      location: { file: path, line: undefined, record },
      value: toPlain(value),
    })),
    invalid: [],
  };
}

/** Reads the raw records of a dataset file in any supported format. */
export async function readRecords(
  path: string,
  format: DatasetFormat = formatFromPath(path),
): Promise<RawRecords> {
  if (format === 'jsonl') return readJsonLines(path);
  if (format === 'json') return readJsonArray(path);
  return readParquetRows(path);
}
