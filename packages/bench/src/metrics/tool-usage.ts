/** One executed tool call of a sample, as the runner records it. */
export interface SampleToolCall {
  tool: string;
  ok: boolean;
  /** The tool error code when the call failed. */
  errorCode?: string;
  latencyMs: number;
}

/** Per-tool totals. */
export interface ToolStatistics {
  calls: number;
  /** Calls per sample (over all samples, also those that did not call this tool). */
  callsPerSample: number;
  failures: number;
  meanLatencyMs: number;
}

export interface ToolUsageSummary {
  /** Total executed calls. */
  calls: number;
  callsPerSample: number;
  /** Share of samples that made at least one call. */
  samplesWithCalls: number;
  perTool: Record<string, ToolStatistics>;
  /**
   * Tool productivity (as defined by OTC-PO, Wang et al. 2025): correct samples per tool call,
   * `correct / calls`; undefined when no tool was called.
   */
  productivity: number | undefined;
}

/** Tool calls per sample and per tool, and tool productivity, over scored samples. */
export function summarizeToolUsage(
  samples: readonly { toolCalls: readonly SampleToolCall[]; correct: boolean }[],
): ToolUsageSummary {
  const perTool = new Map<string, { calls: number; failures: number; latency: number }>();
  let calls = 0;
  let withCalls = 0;
  let correct = 0;
  for (const sample of samples) {
    if (sample.correct) correct += 1;
    if (sample.toolCalls.length > 0) withCalls += 1;
    for (const call of sample.toolCalls) {
      calls += 1;
      const entry = perTool.get(call.tool) ?? { calls: 0, failures: 0, latency: 0 };
      entry.calls += 1;
      if (!call.ok) entry.failures += 1;
      entry.latency += call.latencyMs;
      perTool.set(call.tool, entry);
    }
  }
  const count = Math.max(samples.length, 1);
  const tools: Record<string, ToolStatistics> = {};
  for (const [tool, entry] of [...perTool].sort(([first], [second]) => first.localeCompare(second))) {
    tools[tool] = {
      calls: entry.calls,
      callsPerSample: entry.calls / count,
      failures: entry.failures,
      meanLatencyMs: entry.latency / entry.calls,
    };
  }
  return {
    calls,
    callsPerSample: calls / count,
    samplesWithCalls: withCalls / count,
    perTool: tools,
    productivity: calls === 0 ? undefined : correct / calls,
  };
}

/** Mean, median, 90th percentile and maximum of a list of numbers (zeros when empty). */
export function describeDistribution(values: readonly number[]): {
  mean: number;
  p50: number;
  p90: number;
  max: number;
} {
  if (values.length === 0) return { mean: 0, p50: 0, p90: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (probability: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(probability * sorted.length) - 1)] as number;
  let sum = 0;
  for (const value of sorted) sum += value;
  return { mean: sum / sorted.length, p50: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1] as number };
}
