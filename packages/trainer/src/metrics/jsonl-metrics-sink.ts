import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ArpoEvent, EventSink } from '@arpo/core';

/**
 * Appends step metrics (`step-end`, `evaluation-end`, `step-skip` events) as one JSON object per line, written
 * synchronously so a killed process loses at most the line being written.
 */
export function createJsonlMetricsSink(path: string, options: { label?: string } = {}): EventSink {
  mkdirSync(dirname(path), { recursive: true });
  return {
    emit(event: ArpoEvent) {
      let record: Record<string, unknown> | undefined;
      if (event.type === 'step-end') record = { kind: 'train', step: event.step, ...event.metrics };
      else if (event.type === 'evaluation-end') record = { kind: 'eval', step: event.step, ...event.metrics };
      else if (event.type === 'step-skip') record = { kind: 'skip', step: event.step, reason: event.reason };
      if (record === undefined) return;
      if (options.label !== undefined) record.phase = options.label;
      appendFileSync(path, `${JSON.stringify(record)}\n`);
    },
  };
}
