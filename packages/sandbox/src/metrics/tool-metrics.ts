import {
  InvalidArgumentError,
  type Tool,
  type ToolErrorCode,
  type ToolExecuteOptions,
  type ToolResult,
} from '@arpo/core';

/** Latency summary in milliseconds. Percentiles are over the last `windowSize` calls; the rest over all. */
export interface LatencySummary {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

/** A plain, JSON-safe snapshot of one tool's metrics. */
export interface ToolMetricsSnapshot {
  tool: string;
  calls: number;
  /** Calls running now. */
  inFlight: number;
  successes: number;
  /** Calls that resolved with `ok: false`. */
  failures: number;
  failuresByCode: Partial<Record<ToolErrorCode, number>>;
  /** Failures with code `timeout` (also counted in `failuresByCode`). */
  timeouts: number;
  /** Calls whose `execute` rejected (a bug in the tool); not counted as failures. */
  rejections: number;
  /** Results served from a result cache (`metadata.cached`). */
  cached: number;
  latencyMs: LatencySummary;
  /** Latency histogram over all calls: `counts[i]` calls took ≤ `boundsMs[i]`; the last count is the overflow. */
  histogram: { boundsMs: number[]; counts: number[] };
}

export interface ToolMetricsOptions {
  /** Upper bounds of the histogram buckets, ascending. Default 1, 2, 5, 10, ... 60 000 ms. */
  boundsMs?: readonly number[];
  /** Latest calls kept for percentiles. Default 4096. */
  windowSize?: number;
}

/** A tool that records its metrics. */
export interface MeasuredTool<Input = unknown> extends Tool<Input> {
  metrics(): ToolMetricsSnapshot;
  resetMetrics(): void;
}

const defaultBoundsMs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000];

/** The `quantile` (0..1) of sorted values, nearest-rank. */
function quantile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(fraction * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

/**
 * Wraps `tool` to count calls, successes, failures by code, timeouts and rejections, and to measure latency
 * (nearest-rank p50/p90/p99 over a sliding window, plus a cumulative histogram). Results pass through unchanged;
 * a rejection is recorded and re-thrown.
 */
export function withToolMetrics<Input>(
  tool: Tool<Input>,
  options: ToolMetricsOptions = {},
): MeasuredTool<Input> {
  const boundsMs = [...(options.boundsMs ?? defaultBoundsMs)];
  for (let i = 0; i < boundsMs.length; i += 1) {
    const bound = boundsMs[i] as number;
    if (!Number.isFinite(bound) || bound <= 0 || (i > 0 && bound <= (boundsMs[i - 1] as number))) {
      throw new InvalidArgumentError({
        argument: `boundsMs[${i}]`,
        message: 'bounds must be positive and strictly ascending',
      });
    }
  }
  const windowSize = options.windowSize ?? 4096;
  if (!Number.isInteger(windowSize) || windowSize < 1) {
    throw new InvalidArgumentError({
      argument: 'windowSize',
      message: `must be an integer ≥ 1, got ${windowSize}`,
    });
  }

  let state = fresh();
  function fresh() {
    return {
      calls: 0,
      inFlight: 0,
      successes: 0,
      failures: 0,
      failuresByCode: {} as Partial<Record<ToolErrorCode, number>>,
      rejections: 0,
      cached: 0,
      window: new Float64Array(windowSize),
      windowCount: 0,
      latencyCount: 0,
      latencySum: 0,
      latencyMin: Number.POSITIVE_INFINITY,
      latencyMax: 0,
      counts: new Array<number>(boundsMs.length + 1).fill(0),
    };
  }

  const recordLatency = (milliseconds: number) => {
    state.window[state.windowCount % windowSize] = milliseconds;
    state.windowCount += 1;
    state.latencyCount += 1;
    state.latencySum += milliseconds;
    state.latencyMin = Math.min(state.latencyMin, milliseconds);
    state.latencyMax = Math.max(state.latencyMax, milliseconds);
    let bucket = boundsMs.findIndex((bound) => milliseconds <= bound);
    if (bucket < 0) bucket = boundsMs.length;
    state.counts[bucket] = (state.counts[bucket] as number) + 1;
  };

  return {
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema,
    async execute(input: Input, executeOptions?: ToolExecuteOptions): Promise<ToolResult> {
      const current = state;
      current.calls += 1;
      current.inFlight += 1;
      const started = performance.now();
      try {
        const result = await tool.execute(input, executeOptions);
        if (current === state) {
          recordLatency(performance.now() - started);
          if (result.ok) current.successes += 1;
          else {
            current.failures += 1;
            current.failuresByCode[result.error.code] = (current.failuresByCode[result.error.code] ?? 0) + 1;
          }
          if (result.metadata?.cached === true) current.cached += 1;
        }
        return result;
      } catch (error) {
        if (current === state) {
          recordLatency(performance.now() - started);
          current.rejections += 1;
        }
        throw error;
      } finally {
        current.inFlight -= 1;
      }
    },
    metrics(): ToolMetricsSnapshot {
      const kept = Math.min(state.windowCount, windowSize);
      const sorted = Array.from(state.window.subarray(0, kept)).sort((left, right) => left - right);
      return {
        tool: tool.name,
        calls: state.calls,
        inFlight: state.inFlight,
        successes: state.successes,
        failures: state.failures,
        failuresByCode: { ...state.failuresByCode },
        timeouts: state.failuresByCode.timeout ?? 0,
        rejections: state.rejections,
        cached: state.cached,
        latencyMs: {
          count: state.latencyCount,
          mean: state.latencyCount === 0 ? 0 : state.latencySum / state.latencyCount,
          min: state.latencyCount === 0 ? 0 : state.latencyMin,
          max: state.latencyMax,
          p50: quantile(sorted, 0.5),
          p90: quantile(sorted, 0.9),
          p99: quantile(sorted, 0.99),
        },
        histogram: { boundsMs: [...boundsMs], counts: [...state.counts] },
      };
    },
    resetMetrics() {
      state = fresh();
    },
    close: () => tool.close?.() ?? Promise.resolve(),
  };
}

/** Measures several tools and reports them together. */
export interface ToolMetricsCollector {
  /** Wraps `tool` and includes it in `snapshot()`. */
  measure<Input>(tool: Tool<Input>): MeasuredTool<Input>;
  /** Every measured tool's snapshot, by tool name. */
  snapshot(): Record<string, ToolMetricsSnapshot>;
  reset(): void;
}

export function createToolMetricsCollector(options: ToolMetricsOptions = {}): ToolMetricsCollector {
  const measured: MeasuredTool<never>[] = [];
  return {
    measure(tool) {
      const wrapped = withToolMetrics(tool, options);
      measured.push(wrapped as MeasuredTool<never>);
      return wrapped;
    },
    snapshot: () => Object.fromEntries(measured.map((tool) => [tool.name, tool.metrics()])),
    reset: () => {
      for (const tool of measured) tool.resetMetrics();
    },
  };
}
