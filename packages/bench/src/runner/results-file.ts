import { type FileHandle, open, readFile, truncate } from 'node:fs/promises';
import { parseRecord } from '../datasets/dataset-adapters.js';
import { DatasetFileError, DatasetRecordError } from '../datasets/dataset-record-error.js';
import { parseJsonLines } from '../datasets/read-records.js';
import { type RunHeader, runHeaderSchema } from './run-header.js';
import { type SampleRecord, sampleRecordSchema } from './sample-record.js';

/** `itemId#sampleIndex`, the key of a finished sample. */
export function sampleKey(itemId: string, sampleIndex: number): string {
  return `${itemId}#${sampleIndex}`;
}

export interface ReadResults {
  /** The run header (first line), undefined for an empty file or one written before headers existed. */
  header: RunHeader | undefined;
  records: SampleRecord[];
  /** Lines that are not valid records (each names file, line and field). */
  invalid: DatasetRecordError[];
  /** True when a partial last line (a write cut by a crash) was cut off the file. */
  repairedTail: boolean;
}

/**
 * Reads a results file for resuming. A missing file is an empty result. A last line without its newline is a
 * record whose write was cut by a crash: it is removed from the file (its sample runs again), so appended records
 * start on a fresh line.
 */
export async function readResultsFile(path: string): Promise<ReadResults> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { header: undefined, records: [], invalid: [], repairedTail: false };
    throw new DatasetFileError({ file: path, reason: (error as Error).message, cause: error });
  }
  let repairedTail = false;
  if (text !== '' && !text.endsWith('\n')) {
    const keep = text.lastIndexOf('\n') + 1;
    text = text.slice(0, keep);
    await truncate(path, Buffer.byteLength(text, 'utf8'));
    repairedTail = true;
  }
  const raw = parseJsonLines(text, path);
  const records: SampleRecord[] = [];
  const invalid = [...raw.invalid];
  let header: RunHeader | undefined;
  for (const record of raw.records) {
    try {
      const isHeader = (record.value as { type?: unknown } | null)?.type === 'header';
      if (isHeader && record.location.record === 0)
        header = parseRecord(runHeaderSchema, record.value, record.location);
      else if (isHeader) {
        throw new DatasetRecordError({
          ...record.location,
          field: 'type',
          reason: 'a run header is only allowed on the first line',
        });
      } else records.push(parseRecord(sampleRecordSchema, record.value, record.location));
    } catch (error) {
      invalid.push(error as DatasetRecordError);
    }
  }
  invalid.sort((first, second) => first.record - second.record);
  return { header, records, invalid, repairedTail };
}

/**
 * Appends records to a JSONL file one at a time: each line is written whole and flushed to disk (`datasync`)
 * before the next, so a crash loses no finished record and never leaves two records interleaved.
 */
export class ResultsWriter {
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly handle: FileHandle,
    private readonly flush: boolean,
  ) {}

  /** Opens `path` for appending; `restart` empties it first (a run that starts over). */
  static async open(
    path: string,
    options: { flush?: boolean; restart?: boolean } = {},
  ): Promise<ResultsWriter> {
    try {
      return new ResultsWriter(await open(path, options.restart === true ? 'w' : 'a'), options.flush ?? true);
    } catch (error) {
      throw new DatasetFileError({ file: path, reason: (error as Error).message, cause: error });
    }
  }

  append(record: SampleRecord | RunHeader): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    const next = this.chain.then(async () => {
      await this.handle.write(line);
      if (this.flush) await this.handle.datasync();
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.handle.close();
  }
}
