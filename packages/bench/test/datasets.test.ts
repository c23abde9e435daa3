import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gsm8kFinalAnswer } from '../src/datasets/dataset-adapters.js';
import { DatasetFileError, DatasetRecordError } from '../src/datasets/dataset-record-error.js';
import { loadBenchmark } from '../src/datasets/load-benchmark.js';
import { benchmarkFile } from './support/shared-data.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'arpo-bench-datasets-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('loadBenchmark on the shared reference files', () => {
  it('loads every ARPO evaluation set with the right adapter and answer kind', async () => {
    const expected: Record<string, [number, string]> = {
      gsm8k: [1319, 'numeric'],
      math500: [500, 'math'],
      aime24: [30, 'math'],
      aime25: [30, 'math'],
      hotpotqa: [200, 'text'],
      '2wiki': [200, 'text'],
      musique: [200, 'text'],
      bamboogle: [125, 'text'],
    };
    for (const [name, [count, kind]] of Object.entries(expected)) {
      const loaded = await loadBenchmark({ path: benchmarkFile(name) });
      expect(loaded.name).toBe(name);
      expect(loaded.items).toHaveLength(count);
      expect(new Set(loaded.items.map((item) => item.answerKind))).toEqual(new Set([kind]));
      expect(new Set(loaded.items.map((item) => item.id)).size).toBe(count);
    }
    const gsm8k = await loadBenchmark({ path: benchmarkFile('gsm8k'), limit: 1 });
    expect(gsm8k.items[0]).toMatchObject({
      id: 'gsm8k-0',
      references: ['18'],
      location: { line: 1, record: 0 },
    });
    const aime24 = await loadBenchmark({ path: benchmarkFile('aime24') });
    expect(aime24.items[0]?.question).toMatch(/^Every morning Aya/);
    const wiki = await loadBenchmark({ path: benchmarkFile('2wiki'), limit: 1 });
    expect(wiki.items[0]?.references).toContain('New York City');
  });

  it('reads the verl RL parquet (hyparquet), keeping the U+0008 unless asked to fix it', async () => {
    const path = benchmarkFile('rl', 'valid.parquet');
    const kept = await loadBenchmark({ path });
    expect(kept.name).toBe('verl');
    expect(kept.items).toHaveLength(180);
    const first = kept.items[0];
    expect(first?.prompt?.[0]?.role).toBe('system');
    expect(first?.prompt?.[0]?.content).toContain('\u0008oxed');
    expect(first?.question).toBe(first?.prompt?.[1]?.content);
    const kinds = new Set(kept.items.map((item) => item.answerKind));
    expect(kinds).toEqual(new Set(['math', 'text']));
    const fixed = await loadBenchmark({ path, backspace: 'fix' });
    expect(fixed.items[0]?.prompt?.[0]?.content).toContain('\\boxed{}');
    expect(fixed.items[0]?.prompt?.[0]?.content).not.toContain('\u0008');
  });

  it('extracts GSM8K final answers', () => {
    expect(gsm8kFinalAnswer('so 3+4 = 7\n#### 1,234')).toBe('1234');
    expect(gsm8kFinalAnswer('no marker')).toBeUndefined();
  });
});

describe('bad data', () => {
  it('names file, line and field for malformed JSON, missing fields and wrong types', async () => {
    const path = join(directory, 'math500.jsonl');
    await writeFile(
      path,
      [
        '{"question": "1+1?", "answer": "2"}',
        '',
        '{"question": "broken", ',
        '{"answer": "3"}',
        '{"question": "x", "answer": ["not", "a", "string"]}',
        '{"question": "2+2?", "answer": 4}',
      ].join('\n'),
    );
    const error = await loadBenchmark({ path }).catch((caught: unknown) => caught);
    expect(DatasetRecordError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ file: path, line: 3, field: '(record)' });
    const skipped = await loadBenchmark({ path, onInvalid: 'skip' });
    expect(skipped.items.map((item) => item.references[0])).toEqual(['2', '4']);
    expect(skipped.invalid.map((invalid) => [invalid.line, invalid.field])).toEqual([
      [3, '(record)'],
      [4, 'question'],
      [5, 'answer'],
    ]);
    expect(skipped.invalid[1]?.message).toContain(`${path}:4, field 'question'`);
  });

  it('rejects duplicate ids, JSON arrays name the record, and unreadable files are typed errors', async () => {
    const path = join(directory, 'bamboogle.json');
    await writeFile(
      path,
      JSON.stringify({
        data: [
          { question: 'a?', answer: ['x'], id: 1 },
          { question: 'b?', answer: ['y'], id: 1 },
          { question: 3, answer: ['z'] },
        ],
      }),
    );
    const skipped = await loadBenchmark({ path, onInvalid: 'skip' });
    expect(skipped.items).toHaveLength(1);
    expect(skipped.invalid.map((invalid) => [invalid.record, invalid.field])).toEqual([
      [1, 'id'],
      [2, 'question'],
    ]);
    expect(skipped.invalid[1]?.message).toContain(`${path} record 2, field 'question'`);
    const missing = await loadBenchmark({ path: join(directory, 'gsm8k.jsonl') }).catch(
      (caught: unknown) => caught,
    );
    expect(DatasetFileError.isInstance(missing)).toBe(true);
    const notParquet = join(directory, 'train.parquet');
    await writeFile(notParquet, 'not parquet at all');
    await expect(loadBenchmark({ path: notParquet })).rejects.toThrow(/cannot be read as Parquet/);
    await expect(loadBenchmark({ path: join(directory, 'unknown.jsonl') })).rejects.toThrow(
      /cannot guess the dataset/,
    );
  });

  it('validates verl rows field by field', async () => {
    // A JSONL file in the verl schema with a wrong ground truth type.
    const path = join(directory, 'rows.jsonl');
    await writeFile(
      path,
      `${JSON.stringify({ data_source: 's', prompt: [{ role: 'user', content: 'q' }], reward_model: { ground_truth: 5 } })}\n`,
    );
    const error = await loadBenchmark({ path, adapter: 'verl' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ line: 1, field: 'reward_model.ground_truth' });
  });
});
