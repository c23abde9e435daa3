import type { AlgorithmReport, ComparisonReportData } from './report-data.js';

/** The four curves every report shows first, in this order. */
export const headlineMetrics = ['reward', 'accuracy', 'entropy', 'tool_calls_per_trajectory'] as const;

/** Human names of the metrics `runRlStep` emits; other metrics are shown by their key. */
export const metricLabels: Readonly<Record<string, string>> = {
  reward: 'Reward',
  accuracy: 'Accuracy',
  entropy: 'Entropy',
  tool_calls_per_trajectory: 'Tool calls per trajectory',
  tool_calls_executed: 'Tool calls executed',
  response_length: 'Response length (tokens)',
  tokens_computed: 'Tokens computed',
  tokens_reused: 'Tokens reused',
  trajectories: 'Trajectories',
  groups: 'Groups',
  sampling_rounds: 'Sampling rounds',
  loss: 'Loss',
  skipped: 'Skipped updates',
};

export function metricLabel(metric: string): string {
  return metricLabels[metric] ?? metric;
}

/** One step of a curve: the mean over the seeds that reported it, and their range (the band). */
export interface CurvePoint {
  step: number;
  mean: number;
  min: number;
  max: number;
  /** Seeds with a finite value at this step. */
  seeds: number;
}

/**
 * The curve of `metric` for one algorithm: per step, the mean over seeds with the min–max band. Steps where no
 * seed has a finite value are left out.
 */
export function seedCurve(algorithm: AlgorithmReport, metric: string): CurvePoint[] {
  const byStep = new Map<number, number[]>();
  for (const run of algorithm.training) {
    for (const record of run.steps) {
      const value = record[metric];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      const values = byStep.get(record.step) ?? [];
      values.push(value);
      byStep.set(record.step, values);
    }
  }
  return [...byStep.entries()]
    .sort(([first], [second]) => first - second)
    .map(([step, values]) => ({
      step,
      mean: values.reduce((sum, value) => sum + value, 0) / values.length,
      min: Math.min(...values),
      max: Math.max(...values),
      seeds: values.length,
    }));
}

/** Every metric key that has at least one finite value, headline metrics first, then alphabetical. */
export function reportedMetrics(data: ComparisonReportData): string[] {
  const found = new Set<string>();
  for (const algorithm of data.algorithms) {
    for (const run of algorithm.training) {
      for (const record of run.steps) {
        for (const [key, value] of Object.entries(record)) {
          if (key !== 'step' && typeof value === 'number' && Number.isFinite(value)) found.add(key);
        }
      }
    }
  }
  const headline = headlineMetrics.filter((metric) => found.has(metric));
  const rest = [...found].filter((metric) => !(headlineMetrics as readonly string[]).includes(metric)).sort();
  return [...headline, ...rest];
}

/** What an algorithm spent in training, summed over its seeds and steps. */
export interface TrainingTotals {
  runs: number;
  steps: number;
  trajectories: number;
  toolCallsExecuted: number;
  tokensComputed: number;
  tokensReused: number;
  /** Sum of the step timings (`time_*_ms`) in seconds. */
  stepSeconds: number;
  /** Mean over seeds of the last step's value of each headline metric. */
  final: Partial<Record<(typeof headlineMetrics)[number], number>>;
}

export function trainingTotals(algorithm: AlgorithmReport): TrainingTotals {
  const totals: TrainingTotals = {
    runs: algorithm.training.length,
    steps: 0,
    trajectories: 0,
    toolCallsExecuted: 0,
    tokensComputed: 0,
    tokensReused: 0,
    stepSeconds: 0,
    final: {},
  };
  const add = (value: number | null | undefined) => (typeof value === 'number' ? value : 0);
  for (const run of algorithm.training) {
    for (const record of run.steps) {
      totals.steps += 1;
      totals.trajectories += add(record.trajectories);
      totals.toolCallsExecuted += add(record.tool_calls_executed);
      totals.tokensComputed += add(record.tokens_computed);
      totals.tokensReused += add(record.tokens_reused);
      for (const [key, value] of Object.entries(record)) {
        if (key.startsWith('time_') && key.endsWith('_ms')) totals.stepSeconds += add(value) / 1000;
      }
    }
  }
  for (const metric of headlineMetrics) {
    const last: number[] = [];
    for (const run of algorithm.training) {
      const ordered = [...run.steps].sort((first, second) => first.step - second.step);
      for (let index = ordered.length - 1; index >= 0; index--) {
        const value = ordered[index]?.[metric];
        if (typeof value === 'number') {
          last.push(value);
          break;
        }
      }
    }
    if (last.length > 0) totals.final[metric] = last.reduce((sum, value) => sum + value, 0) / last.length;
  }
  return totals;
}

/** Every k that any algorithm reports pass@k for, ascending. */
export function reportedPassAtK(data: ComparisonReportData): number[] {
  const ks = new Set<number>();
  for (const algorithm of data.algorithms) for (const entry of algorithm.evaluation.passAtK) ks.add(entry.k);
  return [...ks].sort((first, second) => first - second);
}
