import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EventSink, fanOutEventSink } from '@arpo/core';
import { createJsonlMetricsSink } from '@arpo/trainer';
import { readJson } from './phases.js';

/**
 * The phases of a run, as the `phase` field of each `metrics.jsonl` line: `sft` steps, the `after-sft`
 * evaluation, `rl` steps (and skips), the final `after-<algorithm>` evaluation. With `kind` (`train`, `eval`,
 * `skip`) it tells SFT step 3 from RL step 3.
 */
export type RunPhase = 'sft' | 'after-sft' | 'rl' | `after-${string}`;

/** Events of one phase: its metrics lines (labelled `phase`) appended to `directory/metrics.jsonl`, plus `extra`. */
export function phaseEvents(directory: string, phase: RunPhase, extra?: EventSink): EventSink {
  const sink = createJsonlMetricsSink(join(directory, 'metrics.jsonl'), { label: phase });
  return extra === undefined ? sink : fanOutEventSink([sink, extra]);
}

/**
 * Before a resumed run continues, drops the `metrics.jsonl` lines that its continuation writes again: SFT lines
 * unless SFT finished (`sft-state.json`), the after-SFT evaluation unless it was saved, RL lines from the step
 * the RL checkpoint resumes at, and the final evaluation (always redone). The file then reads as the one an
 * uninterrupted run writes. `options.redone` names phases the caller redoes regardless (`arpo sft` re-evaluates).
 * Returns how many lines were dropped.
 */
export async function trimMetricsForResume(
  directory: string,
  options: { redone?: readonly RunPhase[] } = {},
): Promise<number> {
  const redone = new Set<unknown>(options.redone ?? []);
  const path = join(directory, 'metrics.jsonl');
  if (!existsSync(path)) return 0;
  const sftDone = existsSync(join(directory, 'sft-state.json'));
  const afterSftSaved = existsSync(join(directory, 'evaluation-after-sft.json'));
  const statePath = join(directory, 'training-state.json');
  const rlStep = existsSync(statePath) ? (await readJson<{ step: number }>(statePath)).step : 0;
  const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line.trim() !== '');
  const kept = lines.filter((line) => {
    let record: { phase?: unknown; step?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      return false; // The half-written last line of a killed process.
    }
    if (redone.has(record.phase)) return false;
    if (record.phase === 'sft') return sftDone;
    if (record.phase === 'after-sft') return afterSftSaved;
    if (record.phase === 'rl') return typeof record.step === 'number' && record.step < rlStep;
    return typeof record.phase !== 'string'; // Final evaluations are redone; unlabelled lines are kept.
  });
  if (kept.length === lines.length) return 0;
  // Rewritten through a temporary file: a kill now leaves the old file or the new one, never half of it.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, kept.map((line) => `${line}\n`).join(''));
  await rename(temporary, path);
  return lines.length - kept.length;
}
