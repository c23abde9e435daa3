import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ValidationError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { loadReferenceParquet, parseReferenceRow } from '../src/parquet/reference-parquet.js';

const shared = resolve(import.meta.dirname, '../../../../shared/data/benchmarks/rl');

describe('reference RL parquet loader', () => {
  it('loads the real validation file as tasks, keeping the data as it is by default', async () => {
    const { tasks, skipped } = await loadReferenceParquet(join(shared, 'valid.parquet'));
    expect(tasks).toHaveLength(180);
    expect(skipped).toEqual([]);
    const first = tasks[0]!;
    expect(first.prompt.map((message) => message.role)).toEqual(['system', 'user']);
    expect(first.references).toEqual(['Eleanor Of Lancaster']);
    expect(first.tools).toEqual(['search', 'python']);
    expect(first.prompt[0]?.content).toContain('\u0008oxed');
    expect(first.metadata?.ability).toBe('qa');
    expect(new Set(tasks.map((task) => task.id)).size).toBe(180);
  });

  it('loads the 10,000-row training file with no bad rows', async () => {
    const { tasks, skipped } = await loadReferenceParquet(join(shared, 'train_10k.parquet'), {
      onInvalidRow: 'skip',
    });
    expect(skipped).toEqual([]);
    expect(tasks).toHaveLength(10_000);
    expect(new Set(tasks.map((task) => task.id)).size).toBe(10_000);
    for (const task of tasks) {
      expect(task.references.length).toBeGreaterThan(0);
      expect(task.prompt.at(-1)?.role).toBe('user');
    }
  });

  it('can restore the \\b that the source data lost', async () => {
    const { tasks } = await loadReferenceParquet(join(shared, 'valid.parquet'), { backspace: 'fix' });
    expect(tasks[0]?.prompt[0]?.content).not.toContain('\u0008');
    expect(tasks[0]?.prompt[0]?.content).toContain('\\boxed{answer here}');
  });

  it('names the file, row and field of a malformed row', () => {
    const row = {
      data_source: 'x',
      prompt: [{ role: 'user', content: 'q' }],
      reward_model: { ground_truth: 7n },
    };
    try {
      parseReferenceRow(row, 'train.parquet row 12');
      expect.unreachable();
    } catch (error) {
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as ValidationError).field).toBe('reward_model.ground_truth');
      expect((error as Error).message).toContain('train.parquet row 12');
    }
  });

  it('reports a file that is not parquet', async () => {
    const path = join(tmpdir(), `arpo-not-parquet-${process.pid}.parquet`);
    writeFileSync(path, 'this is not parquet');
    await expect(loadReferenceParquet(path)).rejects.toSatisfy(
      (error: unknown) => ValidationError.isInstance(error) && error.message.includes(path),
    );
  });
});
