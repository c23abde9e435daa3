import { describe, expect, it } from 'vitest';
import { type ArpoEventType, createMemoryEventSink, fanOutEventSink } from './events.js';

describe('event sinks', () => {
  it('fans out to every sink even when one throws', () => {
    const memory = createMemoryEventSink();
    const throwing = {
      emit() {
        throw new Error('broken observer');
      },
    };
    const sink = fanOutEventSink([throwing, memory]);
    sink.emit({ type: 'step-start', step: 1 });
    sink.emit({
      type: 'tool-result',
      trajectoryId: 't',
      toolName: 'python',
      ok: false,
      latencyMs: 3,
      errorCode: 'timeout',
    });
    expect(memory.events).toHaveLength(2);
    expect(memory.ofType('tool-result')[0]?.errorCode).toBe('timeout');
    expect(memory.ofType('step-start')).toEqual([{ type: 'step-start', step: 1 }]);
  });
});

describe('event names', () => {
  it('are noun-action pairs, except the documented `log`', () => {
    // A Record over every event type: adding an event without listing it here fails the type-check.
    const types: Record<ArpoEventType, true> = {
      'run-start': true,
      'run-end': true,
      'step-start': true,
      'step-end': true,
      'step-skip': true,
      'rollout-start': true,
      'rollout-end': true,
      'branch-fork': true,
      'tool-call': true,
      'tool-result': true,
      'checkpoint-save': true,
      'evaluation-end': true,
      'metrics-report': true,
      log: true,
    };
    const exceptions = ['log'];
    const offending = Object.keys(types).filter(
      (type) => !exceptions.includes(type) && !/^[a-z]+-[a-z]+$/.test(type),
    );
    expect(offending).toEqual([]);
  });
});
