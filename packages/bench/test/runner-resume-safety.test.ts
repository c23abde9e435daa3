import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultsMismatchError } from '../src/runner/results-mismatch-error.js';
import { runEvaluation } from '../src/runner/run-evaluation.js';
import { createMathScorer } from '../src/scorers/rule-scorers.js';
import { createSumAgent, sumItems } from './support/scripted-setup.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'arpo-bench-resume-safety-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const run = (options: {
  resultsPath: string;
  seed?: number;
  temperature?: number;
  items?: ReturnType<typeof sumItems>;
  samples?: number;
  onResultsMismatch?: 'stop' | 'restart';
  systemPrompt?: string | null;
}) => {
  const agent = createSumAgent();
  return runEvaluation({
    ...agent,
    dataset: options.items ?? sumItems(3),
    samples: options.samples ?? 2,
    resultsPath: options.resultsPath,
    settings: { seed: options.seed ?? 5, temperature: options.temperature ?? 1 },
    scorer: createMathScorer(),
    ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
    ...(options.onResultsMismatch === undefined ? {} : { onResultsMismatch: options.onResultsMismatch }),
  }).then((result) => ({ ...result, pythonCalls: agent.python.calls.length }));
};

async function mismatchOf(promise: Promise<unknown>): Promise<ResultsMismatchError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!ResultsMismatchError.isInstance(error))
    throw new Error(`expected a ResultsMismatchError, got ${error}`);
  return error;
}

describe('resuming a results file only into the run that wrote it', () => {
  it('writes a run header with the seed, sampling settings, scorer, tools and dataset fingerprint', async () => {
    const path = join(directory, 'header.jsonl');
    await run({ resultsPath: path });
    const [first, second] = (await readFile(path, 'utf8')).trim().split('\n');
    const header = JSON.parse(first as string);
    expect(header).toMatchObject({
      type: 'header',
      format: 'arpo-bench-results',
      seed: 5,
      settings: { temperature: 1 },
      scorer: 'math-equivalence',
      tools: ['python'],
      dataset: { items: 3 },
    });
    expect(header.dataset.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.parse(second as string)).toMatchObject({ type: 'sample', batchSize: 1 });
    expect(JSON.parse(second as string).itemFingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses another seed or temperature, naming the field and both values', async () => {
    const path = join(directory, 'seed.jsonl');
    await run({ resultsPath: path, seed: 5 });
    const before = await readFile(path, 'utf8');
    const seed = await mismatchOf(run({ resultsPath: path, seed: 6 }));
    expect(seed).toMatchObject({ file: path, field: 'seed', previous: '5', current: '6' });
    expect(seed.message).toContain(`${path} was written by a different run: seed is 5 there but 6 now`);
    const temperature = await mismatchOf(run({ resultsPath: path, temperature: 0.6 }));
    expect(temperature).toMatchObject({ field: 'settings.temperature', previous: '1', current: '0.6' });
    // Nothing was written or lost by the refused runs.
    expect(await readFile(path, 'utf8')).toBe(before);
    // The same run resumes everything.
    const again = await run({ resultsPath: path, seed: 5 });
    expect(again).toMatchObject({ resumedSamples: 6, newSamples: 0, pythonCalls: 0 });
  });

  it('refuses a changed item (references or prompt) but accepts a grown dataset', async () => {
    const path = join(directory, 'items.jsonl');
    await run({ resultsPath: path });
    const changed = sumItems(3).map((item, index) => (index === 1 ? { ...item, references: ['999'] } : item));
    const error = await mismatchOf(run({ resultsPath: path, items: changed }));
    expect(error.field).toBe('item sum-1 (prompt, references, answer kind)');
    const prompt = await mismatchOf(run({ resultsPath: path, systemPrompt: 'Answer briefly.' }));
    expect(prompt.field).toMatch(/^item sum-0 /);
    // More items (a larger limit) and more samples per item extend the same run.
    const grown = await run({ resultsPath: path, items: sumItems(4), samples: 3 });
    expect(grown).toMatchObject({ resumedSamples: 6, newSamples: 6 });
  });

  it('refuses a file without a run header, and starts over with onResultsMismatch: restart', async () => {
    const path = join(directory, 'legacy.jsonl');
    const reference = await run({ resultsPath: join(directory, 'legacy-reference.jsonl'), seed: 9 });
    await run({ resultsPath: path, seed: 5 });
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    await writeFile(path, `${lines.slice(1).join('\n')}\n`);
    const missing = await mismatchOf(run({ resultsPath: path, seed: 5 }));
    expect(missing.field).toBe('header');
    expect(missing.previous).toMatch(/missing/);
    const restarted = await run({ resultsPath: path, seed: 9, onResultsMismatch: 'restart' });
    expect(restarted).toMatchObject({ resumedSamples: 0, newSamples: 6, pythonCalls: 6 });
    expect(restarted.records.map((record) => record.response)).toEqual(
      reference.records.map((record) => record.response),
    );
    const rewritten = (await readFile(path, 'utf8')).trim().split('\n');
    expect(rewritten).toHaveLength(7);
    expect(JSON.parse(rewritten[0] as string)).toMatchObject({ type: 'header', seed: 9 });
    expect(rewritten.slice(1).every((line) => JSON.parse(line).seed === 9)).toBe(true);
  });
});
