import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetRecordError } from '../src/datasets/dataset-record-error.js';
import { meanPassAtK } from '../src/metrics/pass-at-k.js';
import { runEvaluation } from '../src/runner/run-evaluation.js';
import { createSumAgent, sumItems } from './support/scripted-setup.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'arpo-bench-runner-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function collect(stream: PassThrough): () => string {
  const chunks: string[] = [];
  stream.on('data', (chunk) => chunks.push(String(chunk)));
  return () => chunks.join('');
}

describe('runEvaluation with a scripted agent', () => {
  it('runs the multi-turn tool loop, scores every sample and summarises', async () => {
    const agent = createSumAgent();
    const progress = new PassThrough();
    const output = collect(progress);
    const result = await runEvaluation({
      ...agent,
      dataset: sumItems(5),
      samples: 4,
      concurrency: 3,
      settings: { seed: 7, maxResponseTokens: 200 },
      progress,
    });
    expect(result.records).toHaveLength(20);
    expect(result.newSamples).toBe(20);
    expect(agent.python.calls).toHaveLength(20);
    const first = result.records[0];
    expect(first?.transcript?.map((segment) => segment.kind)).toEqual(['model', 'tool', 'model']);
    expect(first?.transcript?.[1]?.calls?.[0]).toMatchObject({ tool: 'python', ok: true });
    expect(first?.response).toContain('<answer>');
    const correct = result.records.filter((record) => record.correct).length;
    expect(correct).toBeGreaterThan(0);
    expect(correct).toBeLessThan(20);
    const { summary } = result;
    expect(summary.items).toBe(5);
    expect(summary.accuracy.estimate).toBeCloseTo(correct / 20, 12);
    expect(Object.keys(summary.passAtK)).toEqual(['1', '2', '4']);
    const counts = sumItems(5).map((item) => ({
      samples: 4,
      correct: result.records.filter((record) => record.itemId === item.id && record.correct).length,
    }));
    expect(summary.passAtK['2']?.estimate).toBeCloseTo(meanPassAtK({ items: counts, k: 2 }), 12);
    expect(summary.passAtK['1']?.estimate).toBeCloseTo(summary.accuracy.estimate, 12);
    expect(summary.toolUsage.callsPerSample).toBe(1);
    expect(summary.toolUsage.perTool.python?.calls).toBe(20);
    expect(summary.toolUsage.productivity).toBeCloseTo(correct / 20, 12);
    expect(summary.tokens.meanModel).toBeGreaterThan(0);
    expect(summary.tokens.meanTool).toBeGreaterThan(0);
    expect(summary.extraction['answer-boxed']).toBe(1);
    expect(summary.byDataSource.sums?.samples).toBe(20);
    // Not a terminal: plain lines, ending at 100%.
    expect(output()).toMatch(/eval 20\/20 \(100%\)/);
    expect(output()).not.toContain('\r');
  });

  it('draws a redrawn bar on a terminal stream', async () => {
    const agent = createSumAgent();
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    const output = collect(stream);
    await runEvaluation({
      ...agent,
      dataset: sumItems(2),
      samples: 2,
      settings: { seed: 1 },
      progress: stream,
    });
    expect(output()).toContain('\r[');
    expect(output()).toMatch(/\[#{24}\] eval 4\/4/);
  });

  it('gives each sample the same result whatever the concurrency and batching', async () => {
    const run = (concurrency: number, batchSize: number) =>
      runEvaluation({
        ...createSumAgent(),
        dataset: sumItems(4),
        samples: 3,
        concurrency,
        batchSize,
        settings: { seed: 3 },
      });
    const serial = await run(1, 1);
    const batched = await run(2, 5);
    expect(batched.records.map((record) => [record.itemId, record.sampleIndex, record.response])).toEqual(
      serial.records.map((record) => [record.itemId, record.sampleIndex, record.response]),
    );
  });

  it('resumes from the results file after a crash: finished samples are kept, the rest run, nothing repeats', async () => {
    const path = join(directory, 'resume.jsonl');
    const reference = await runEvaluation({
      ...createSumAgent(),
      dataset: sumItems(4),
      samples: 3,
      settings: { seed: 11 },
    });
    // The policy crashes on its 9th generate call (2 calls per sample, one rollout at a time).
    const crashing = createSumAgent({ failAfterCalls: 8 });
    await expect(
      runEvaluation({
        ...crashing,
        dataset: sumItems(4),
        samples: 3,
        concurrency: 1,
        resultsPath: path,
        settings: { seed: 11 },
      }),
    ).rejects.toThrow(/policy crashed/);
    const written = (await readFile(path, 'utf8')).trim().split('\n');
    // The run header, then the 4 samples finished before the crash.
    expect(written).toHaveLength(5);
    expect(JSON.parse(written[0] as string)).toMatchObject({ type: 'header', seed: 11 });
    // A write cut by the crash leaves a partial line: it is repaired on resume.
    await appendFile(path, '{"type":"sample","itemId":"sum-');
    const agent = createSumAgent();
    const resumed = await runEvaluation({
      ...agent,
      dataset: sumItems(4),
      samples: 3,
      resultsPath: path,
      settings: { seed: 11 },
    });
    expect(resumed.resumedSamples).toBe(4);
    expect(resumed.newSamples).toBe(8);
    expect(agent.python.calls).toHaveLength(8);
    expect(
      resumed.records.map((record) => [record.itemId, record.sampleIndex, record.response, record.correct]),
    ).toEqual(
      reference.records.map((record) => [record.itemId, record.sampleIndex, record.response, record.correct]),
    );
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(13);
    expect(lines.slice(1).every((line) => JSON.parse(line).type === 'sample')).toBe(true);
    // A third run has nothing to do.
    const again = await runEvaluation({
      ...createSumAgent(),
      dataset: sumItems(4),
      samples: 3,
      resultsPath: path,
      settings: { seed: 11 },
    });
    expect(again.newSamples).toBe(0);
    expect(again.summary.accuracy.estimate).toBeCloseTo(reference.summary.accuracy.estimate, 12);
  });

  it('skips failed rollouts with onSampleError: skip and reports them', async () => {
    const result = await runEvaluation({
      ...createSumAgent({ failAfterCalls: 4 }),
      dataset: sumItems(3),
      concurrency: 1,
      onSampleError: 'skip',
      settings: { seed: 2 },
    });
    expect(result.records).toHaveLength(2);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]).toMatchObject({ itemId: 'sum-2', sampleIndex: 0 });
    expect(result.failed[0]?.message).toMatch(/policy crashed/);
  });
});

describe('runEvaluation with bad data', () => {
  const lines = [
    JSON.stringify({ question: 'What is 1+3?', answer: ['4'] }),
    JSON.stringify({ question: 'What is 2+4?', answer: ['6'] }),
    '{"question": "What is 3+5?", "answer": ["8"]',
    JSON.stringify({ question: 'What is 4+6?', answer: ['10'] }),
    JSON.stringify({ answer: ['12'] }),
    JSON.stringify({ question: 'What is 6+8?', answer: ['14'] }),
    JSON.stringify({ question: 'What is 7+9?', answer: 16 }),
    JSON.stringify({ question: 'What is 8+10?', answer: [{ text: '18' }] }),
  ];

  it('skips bad records with onInvalid: skip, naming file, line and field', async () => {
    const path = join(directory, 'hotpotqa-bad.jsonl');
    await writeFile(path, `${lines.join('\n')}\n`);
    const result = await runEvaluation({
      ...createSumAgent(),
      dataset: { path },
      onInvalid: 'skip',
      settings: { seed: 1 },
    });
    expect(result.records.map((record) => record.itemId)).toEqual([
      'hotpotqa-0',
      'hotpotqa-1',
      'hotpotqa-3',
      'hotpotqa-5',
      'hotpotqa-6',
    ]);
    expect(result.invalid.map((error) => [error.line, error.field])).toEqual([
      [3, '(record)'],
      [5, 'question'],
      [8, 'answer'],
    ]);
    for (const error of result.invalid) {
      expect(DatasetRecordError.isInstance(error)).toBe(true);
      expect(error.message).toContain(`${path}:${error.line}`);
    }
    expect(result.invalid[0]?.message).toMatch(/not valid JSON/);
  });

  it('stops at the first bad record with onInvalid: stop, after writing the results before it', async () => {
    const path = join(directory, 'hotpotqa-stop.jsonl');
    const results = join(directory, 'stop-results.jsonl');
    await writeFile(path, `${lines.join('\n')}\n`);
    const error = await runEvaluation({
      ...createSumAgent(),
      dataset: { path },
      samples: 2,
      resultsPath: results,
      settings: { seed: 1 },
    }).catch((caught: unknown) => caught);
    expect(DatasetRecordError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ file: path, line: 3, field: '(record)' });
    const written = (await readFile(results, 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => JSON.parse(line));
    expect(written.map((record) => `${record.itemId}#${record.sampleIndex}`).sort()).toEqual([
      'hotpotqa-0#0',
      'hotpotqa-0#1',
      'hotpotqa-1#0',
      'hotpotqa-1#1',
    ]);
  });

  it('treats a bad results line as configured', async () => {
    const results = join(directory, 'corrupt-results.jsonl');
    const first = await runEvaluation({
      ...createSumAgent(),
      dataset: sumItems(2),
      resultsPath: results,
      settings: { seed: 4 },
    });
    const [header, good] = (await readFile(results, 'utf8')).trim().split('\n');
    const broken = { ...JSON.parse(good as string), sampleIndex: 'zero' };
    await writeFile(results, `${header}\n${good}\n${JSON.stringify(broken)}\n`);
    await expect(
      runEvaluation({
        ...createSumAgent(),
        dataset: sumItems(2),
        resultsPath: results,
        settings: { seed: 4 },
      }),
    ).rejects.toThrow(new RegExp(`${results.replaceAll('.', '\\.')}:3, field 'sampleIndex'`));
    const skipped = await runEvaluation({
      ...createSumAgent(),
      dataset: sumItems(2),
      resultsPath: results,
      onInvalid: 'skip',
      settings: { seed: 4 },
    });
    expect(skipped.invalid).toHaveLength(1);
    expect(skipped.resumedSamples).toBe(1);
    expect(skipped.newSamples).toBe(1);
    expect(skipped.records.map((record) => record.response)).toEqual(
      first.records.map((record) => record.response),
    );
  });
});
