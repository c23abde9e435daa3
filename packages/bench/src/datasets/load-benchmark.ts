import { InvalidArgumentError } from '@arpo/core';
import type { BenchmarkItem } from './benchmark-item.js';
import {
  adapterByName,
  adapterNameForPath,
  type DatasetAdapter,
  type KnownAdapterName,
  knownAdapterNames,
  type VerlAdapterOptions,
} from './dataset-adapters.js';
import { DatasetRecordError } from './dataset-record-error.js';
import { type DatasetFormat, formatFromPath, readRecords } from './read-records.js';

export interface LoadBenchmarkOptions extends VerlAdapterOptions {
  path: string;
  /** Default: from the extension. */
  format?: DatasetFormat;
  /** A known adapter name or your own adapter. Default: guessed from the path (see `adapterNameForPath`). */
  adapter?: KnownAdapterName | DatasetAdapter;
  /** `stop` (default) throws the first bad record; `skip` leaves bad records out and lists them in `invalid`. */
  onInvalid?: 'skip' | 'stop';
  /** Keep only the first `limit` valid items. */
  limit?: number;
}

export interface LoadedBenchmark {
  /** The adapter's name (`gsm8k`, `verl`, ...). */
  name: string;
  items: BenchmarkItem[];
  /** Records left out with `onInvalid: 'skip'`, each naming file, line and field. */
  invalid: DatasetRecordError[];
}

/**
 * Loads an evaluation set from JSONL, JSON or Parquet through an adapter. Bad records (malformed JSON, missing
 * fields, wrong types, duplicate ids) raise `DatasetRecordError`s naming the file, line and field.
 */
export async function loadBenchmark(options: LoadBenchmarkOptions): Promise<LoadedBenchmark> {
  const adapter = resolveAdapter(options);
  const onInvalid = options.onInvalid ?? 'stop';
  const raw = await readRecords(options.path, options.format ?? formatFromPath(options.path));
  const invalid: DatasetRecordError[] = [];
  const report = (error: DatasetRecordError) => {
    if (onInvalid === 'stop') throw error;
    invalid.push(error);
  };
  // Records come back in file order; malformed lines are interleaved back by record index.
  const pendingInvalid = [...raw.invalid];
  const items: BenchmarkItem[] = [];
  const seen = new Set<string>();
  for (const record of raw.records) {
    while (
      pendingInvalid.length > 0 &&
      (pendingInvalid[0] as DatasetRecordError).record < record.location.record
    ) {
      report(pendingInvalid.shift() as DatasetRecordError);
    }
    if (options.limit !== undefined && items.length >= options.limit) break;
    let item: BenchmarkItem;
    try {
      item = adapter.toItem(record.value, record.location);
    } catch (error) {
      if (!DatasetRecordError.isInstance(error)) throw error;
      report(error);
      continue;
    }
    if (seen.has(item.id)) {
      report(
        new DatasetRecordError({ ...record.location, field: 'id', reason: `duplicate item id '${item.id}'` }),
      );
      continue;
    }
    seen.add(item.id);
    items.push(item);
  }
  if (options.limit === undefined || items.length < options.limit)
    for (const error of pendingInvalid) report(error);
  return { name: adapter.name, items, invalid };
}

function resolveAdapter(options: LoadBenchmarkOptions): DatasetAdapter {
  if (typeof options.adapter === 'object') return options.adapter;
  const name = options.adapter ?? adapterNameForPath(options.path);
  if (name === undefined || !knownAdapterNames.includes(name)) {
    throw new InvalidArgumentError({
      argument: 'adapter',
      message: `${name === undefined ? `cannot guess the dataset of ${options.path}` : `unknown adapter '${name}'`}; use one of ${knownAdapterNames.join(', ')} or pass your own`,
    });
  }
  return adapterByName(name, options);
}
