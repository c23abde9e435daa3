/**
 * Everything observable about a run flows through one event sink as plain, JSON-safe objects with
 * noun-action type names (`step-start`, `tool-result`). Sinks decide what to do with them (JSONL file,
 * progress bar, report, test spy). The one exception is `log`: a free-form diagnostic line that is not an action
 * of anything in the run; sinks forward it to a logger as is.
 */
export type ArpoEvent =
  | { type: 'run-start'; runId: string; config: Record<string, unknown> }
  | { type: 'run-end'; runId: string; status: 'completed' | 'failed' | 'aborted'; error?: string }
  | { type: 'step-start'; step: number }
  | { type: 'step-end'; step: number; metrics: Record<string, number> }
  | { type: 'step-skip'; step: number; reason: string }
  | { type: 'rollout-start'; step: number; prompts: number }
  | {
      type: 'rollout-end';
      step: number;
      trajectories: number;
      computedTokens: number;
      reusedTokens: number;
      toolCalls: number;
      durationMs: number;
    }
  | { type: 'branch-fork'; promptId: string; trajectoryId: string; entropyDelta: number; branches: number }
  | { type: 'tool-call'; trajectoryId: string; toolName: string }
  | {
      type: 'tool-result';
      trajectoryId: string;
      toolName: string;
      ok: boolean;
      latencyMs: number;
      errorCode?: string;
    }
  | { type: 'checkpoint-save'; step: number; path: string }
  | { type: 'evaluation-end'; step: number; metrics: Record<string, number> }
  /** Metrics measured in the middle of a step (per-phase timings, rollout statistics) rather than at its end. */
  | { type: 'metrics-report'; step: number; values: Record<string, number> }
  /** A diagnostic message (for example "resumed from step 40"); see above for why it has no noun-action name. */
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };

export type ArpoEventType = ArpoEvent['type'];

export interface EventSink {
  emit(event: ArpoEvent): void;
}

/** A sink that drops everything: the default when the caller passes none. */
export const silentEventSink: EventSink = { emit() {} };

/** Forwards every event to each sink; a throwing sink does not stop the others. */
export function fanOutEventSink(sinks: readonly EventSink[]): EventSink {
  return {
    emit(event) {
      for (const sink of sinks) {
        try {
          sink.emit(event);
        } catch {
          // Observers must never break the run they observe.
        }
      }
    },
  };
}

/** Keeps every event in memory; for tests and small reports. */
export function createMemoryEventSink(): EventSink & {
  readonly events: ArpoEvent[];
  ofType<K extends ArpoEventType>(type: K): Extract<ArpoEvent, { type: K }>[];
} {
  const events: ArpoEvent[] = [];
  return {
    events,
    emit: (event) => {
      events.push(event);
    },
    ofType: <K extends ArpoEventType>(type: K) =>
      events.filter((event): event is Extract<ArpoEvent, { type: K }> => event.type === type),
  };
}
