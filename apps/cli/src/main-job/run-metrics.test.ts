import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { phaseEvents, trimMetricsForResume } from './run-metrics.js';

async function lines(directory: string) {
  return (await readFile(join(directory, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { phase?: string; step?: number; kind?: string });
}

describe('run metrics', () => {
  it('labels each line with its phase', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-run-metrics-'));
    phaseEvents(directory, 'sft').emit({ type: 'step-end', step: 0, metrics: { loss: 1 } });
    phaseEvents(directory, 'rl').emit({ type: 'step-end', step: 0, metrics: { reward: 0.5 } });
    phaseEvents(directory, 'rl').emit({ type: 'step-skip', step: 1, reason: 'non-finite loss NaN' });
    expect(await lines(directory)).toEqual([
      { kind: 'train', step: 0, loss: 1, phase: 'sft' },
      { kind: 'train', step: 0, reward: 0.5, phase: 'rl' },
      { kind: 'skip', step: 1, reason: 'non-finite loss NaN', phase: 'rl' },
    ]);
  });

  it('drops what the continuation of an interrupted run writes again', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-run-metrics-'));
    const record = (phase: string, kind: string, step: number) => JSON.stringify({ kind, step, phase });
    const written = [
      record('sft', 'train', 0),
      record('sft', 'train', 1),
      record('after-sft', 'eval', 0),
      record('rl', 'train', 0),
      record('rl', 'train', 1),
      record('rl', 'skip', 2),
      record('rl', 'train', 2),
      record('after-arpo', 'eval', 3),
      '{"kind":"train","st', // the half-written line of a killed process
    ];
    await writeFile(join(directory, 'metrics.jsonl'), `${written.join('\n')}\n`);
    // SFT has not finished: everything is redone.
    expect(await trimMetricsForResume(directory)).toBe(9);
    expect(await readFile(join(directory, 'metrics.jsonl'), 'utf8')).toBe('');

    await writeFile(join(directory, 'metrics.jsonl'), `${written.join('\n')}\n`);
    await writeFile(join(directory, 'sft-state.json'), '{}');
    await writeFile(join(directory, 'evaluation-after-sft.json'), '{}');
    await writeFile(join(directory, 'training-state.json'), JSON.stringify({ step: 2 }));
    expect(await trimMetricsForResume(directory)).toBe(4);
    expect((await lines(directory)).map((line) => `${line.phase}/${line.kind}/${line.step}`)).toEqual([
      'sft/train/0',
      'sft/train/1',
      'after-sft/eval/0',
      'rl/train/0',
      'rl/train/1',
    ]);
    // `arpo sft` re-evaluates on every run: its evaluation lines go too.
    expect(await trimMetricsForResume(directory, { redone: ['after-sft'] })).toBe(1);
    expect(await trimMetricsForResume(directory)).toBe(0);
  });
});
