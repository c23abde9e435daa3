import { describe, expect, it } from 'vitest';
import { createMemoryEventSink, fanOutEventSink } from './events.js';

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
