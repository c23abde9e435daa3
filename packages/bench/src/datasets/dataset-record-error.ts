import { ArpoError } from '@arpo/core';

const name = 'ArpoDatasetRecordError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** Where a dataset record came from. */
export interface RecordLocation {
  /** The file the record was read from. */
  file: string;
  /** 1-based line of the record in the file (JSONL); undefined for JSON arrays and Parquet. */
  line: number | undefined;
  /** 0-based index of the record (row) in the file. */
  record: number;
}

/** How a location reads in messages: `data.jsonl:17` or `data.parquet row 16`. */
export function formatLocation(location: RecordLocation): string {
  return location.line === undefined
    ? `${location.file} record ${location.record}`
    : `${location.file}:${location.line}`;
}

/**
 * One dataset record is unusable: not valid JSON, a required field missing, or a field of the wrong type.
 * Names the file, the line (or record) and the field.
 */
export class DatasetRecordError extends ArpoError {
  private readonly [symbol] = true;

  readonly file: string;
  readonly line: number | undefined;
  readonly record: number;
  /** The offending field path (`answer`, `reward_model.ground_truth`), or `(record)` for the record as a whole. */
  readonly field: string;
  readonly reason: string;

  constructor(options: RecordLocation & { field: string; reason: string; cause?: unknown }) {
    super({
      name,
      code: 'dataset-record-invalid',
      message: `Invalid dataset record at ${formatLocation(options)}, field '${options.field}': ${options.reason}`,
      cause: options.cause,
    });
    this.file = options.file;
    this.line = options.line;
    this.record = options.record;
    this.field = options.field;
    this.reason = options.reason;
  }

  static override isInstance(error: unknown): error is DatasetRecordError {
    return ArpoError.hasMarker(error, marker);
  }
}

const fileErrorName = 'ArpoDatasetFileError';
const fileMarker = `arpo.error.${fileErrorName}`;
const fileSymbol = Symbol.for(fileMarker);

/** A dataset file cannot be read at all (missing, unreadable, not JSON / Parquet, unknown format). */
export class DatasetFileError extends ArpoError {
  private readonly [fileSymbol] = true;

  readonly file: string;

  constructor(options: { file: string; reason: string; cause?: unknown }) {
    super({
      name: fileErrorName,
      code: 'dataset-file-invalid',
      message: `Cannot read dataset file ${options.file}: ${options.reason}`,
      cause: options.cause,
    });
    this.file = options.file;
  }

  static override isInstance(error: unknown): error is DatasetFileError {
    return ArpoError.hasMarker(error, fileMarker);
  }
}
