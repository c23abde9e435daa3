import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, ValidationError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { sampleReport } from '../../test/report-support/sample-report.js';
import { loadComparisonReport, parseComparisonReport } from './report-data.js';

function validationError(action: () => unknown): ValidationError {
  try {
    action();
  } catch (error) {
    if (ValidationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('comparison report data', () => {
  it('accepts a full report and turns non-finite metric values into null', () => {
    const parsed = parseComparisonReport(sampleReport());
    const step3 = parsed.algorithms[0]?.training[0]?.steps[3];
    expect(step3?.loss).toBeNull();
    expect(step3?.reward).toBeTypeOf('number');
    expect(parsed.algorithms.map((algorithm) => algorithm.name)).toEqual(['grpo', 'dapo', 'arpo']);
    expect(parsed.algorithms[2]?.trees[0]?.tree.nodes).toHaveLength(8);
  });

  it('names the offending field of a wrong metric value', () => {
    const data = sampleReport() as unknown as {
      algorithms: { training: { steps: Record<string, unknown>[] }[] }[];
    };
    data.algorithms[1]!.training[0]!.steps[2]!.reward = 'high';
    const error = validationError(() => parseComparisonReport(data, { source: 'runs/x/report.json' }));
    expect(error.message).toContain('runs/x/report.json');
    expect(error.field).toBe('algorithms[1].training[0].steps[2].reward');
  });

  it('names missing fields and bad intervals', () => {
    const data = sampleReport() as unknown as Record<string, unknown> & {
      run: Record<string, unknown>;
      algorithms: { evaluation: { accuracy: { interval: { lower: number; upper: number } } } }[];
    };
    delete data.run.command;
    data.algorithms[0]!.evaluation.accuracy.interval.lower = 0.9;
    const error = validationError(() => parseComparisonReport(data));
    const fields = error.message;
    expect(fields).toContain('run.command');
    expect(fields).toContain('algorithms[0].evaluation.accuracy.interval.lower: lower must not exceed upper');
  });

  it('rejects trees the viewer cannot walk and repeated names', () => {
    const data = sampleReport();
    const tree = data.algorithms[2]!.trees[0]!.tree;
    tree.nodes[4]!.children = [2];
    tree.nodes[5]!.trajectoryIndices = [9];
    data.algorithms[1]!.name = 'grpo';
    const error = validationError(() => parseComparisonReport(data));
    expect(error.message).toContain(
      'algorithms[2].trees[0].tree.nodes[4].children: child 2 is not a later node',
    );
    expect(error.message).toContain(
      'algorithms[2].trees[0].tree.nodes[5].trajectoryIndices: trajectory 9 does not exist',
    );
    expect(error.message).toContain("algorithms[1].name: algorithm 'grpo' appears twice");
  });

  it('loads a report file, naming the file when it is not JSON or missing', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-report-data-'));
    const good = join(directory, 'report.json');
    await writeFile(good, JSON.stringify(sampleReport()));
    expect((await loadComparisonReport(good)).run.seeds).toEqual([1, 2, 3]);

    const broken = join(directory, 'broken.json');
    await writeFile(broken, '{"format": "arpo-comparison-report",');
    const error = await loadComparisonReport(broken).catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(broken);
    expect((error as Error).message).toContain('not valid JSON');

    const missing = await loadComparisonReport(join(directory, 'nope.json')).catch(
      (caught: unknown) => caught,
    );
    expect(InvalidArgumentError.isInstance(missing)).toBe(true);
    expect((missing as Error).message).toContain('nope.json');
  });
});
