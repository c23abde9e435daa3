import { bootstrapConfidenceInterval, type ConfidenceInterval } from '../metrics/bootstrap.js';
import { majorityVote } from '../metrics/majority-at-n.js';
import { defaultPassAtKValues, passAtK } from '../metrics/pass-at-k.js';
import { describeDistribution, summarizeToolUsage, type ToolUsageSummary } from '../metrics/tool-usage.js';
import type { SampleRecord } from './sample-record.js';

/** The metrics of a set of finished samples. */
export interface EvaluationRunSummary {
  /** Items with at least one finished sample. */
  items: number;
  /** Finished samples. */
  samples: number;
  /** The n the run asked for. */
  samplesPerItem: number;
  /** mean@n of correctness (equals pass@1), with a bootstrap CI over items. */
  accuracy: ConfidenceInterval;
  /** mean@n of the score (token F1 for text answers, 0/1 otherwise). */
  meanScore: number;
  /** Unbiased pass@k for k = 1, 2, 4, ... ≤ n, each with a bootstrap CI over items. */
  passAtK: Record<string, ConfidenceInterval>;
  /** maj@n: share of items whose majority-voted answer is correct. */
  majorityAtN: number;
  toolUsage: ToolUsageSummary;
  /** Mean refused calls (over the per-sample limit) per sample. */
  refusedToolCallsPerSample: number;
  tokens: {
    meanPrompt: number;
    meanResponse: number;
    meanModel: number;
    meanTool: number;
    totalModel: number;
  };
  latencyMs: { mean: number; p50: number; p90: number; max: number };
  /** Share of samples per extraction method (how often fallbacks were needed). */
  extraction: Record<string, number>;
  /** Share of samples per finish reason. */
  finishReasons: Record<string, number>;
  /** Accuracy per data source. */
  byDataSource: Record<string, { items: number; samples: number; accuracy: number }>;
}

function shares(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  for (const key of Object.keys(counts)) counts[key] = (counts[key] as number) / Math.max(values.length, 1);
  return counts;
}

/**
 * Summarises finished samples: accuracy (mean@n) and pass@k with percentile-bootstrap CIs over items (seeded),
 * maj@n, tool usage and productivity, tokens, latency. pass@k is reported for k up to the smallest number of
 * finished samples of any item.
 */
export function summarizeResults(
  records: readonly SampleRecord[],
  options: { samplesPerItem: number; seed?: number; confidence?: number; resamples?: number },
): EvaluationRunSummary {
  const byItem = new Map<string, SampleRecord[]>();
  for (const record of records) {
    const list = byItem.get(record.itemId) ?? [];
    list.push(record);
    byItem.set(record.itemId, list);
  }
  const groups = [...byItem.values()].map((list) =>
    list.sort((first, second) => first.sampleIndex - second.sampleIndex),
  );
  const bootstrap = { seed: options.seed ?? 0, confidence: options.confidence, resamples: options.resamples };
  const empty: ConfidenceInterval = {
    estimate: Number.NaN,
    lower: Number.NaN,
    upper: Number.NaN,
    confidence: options.confidence ?? 0.95,
    method: 'percentile-bootstrap',
    resamples: 0,
  };
  const itemAccuracy = groups.map((list) => list.filter((record) => record.correct).length / list.length);
  const itemScore = groups.map((list) => list.reduce((sum, record) => sum + record.score, 0) / list.length);
  const passAtKTable: Record<string, ConfidenceInterval> = {};
  const fewest = groups.length === 0 ? 0 : Math.min(...groups.map((list) => list.length));
  for (const k of defaultPassAtKValues(Math.min(fewest, options.samplesPerItem))) {
    const values = groups.map((list) =>
      passAtK({ samples: list.length, correct: list.filter((record) => record.correct).length, k }),
    );
    passAtKTable[String(k)] = bootstrapConfidenceInterval({ values, ...bootstrap });
  }
  const majority = groups.map(
    (list) =>
      majorityVote(list.map((record) => ({ answer: record.answerKey ?? undefined, correct: record.correct })))
        .correct,
  );
  const bySource = new Map<string, { items: Set<string>; samples: number; correct: number }>();
  for (const record of records) {
    const entry = bySource.get(record.dataSource) ?? { items: new Set<string>(), samples: 0, correct: 0 };
    entry.items.add(record.itemId);
    entry.samples += 1;
    if (record.correct) entry.correct += 1;
    bySource.set(record.dataSource, entry);
  }
  const mean = (values: readonly number[]) =>
    values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    items: groups.length,
    samples: records.length,
    samplesPerItem: options.samplesPerItem,
    accuracy:
      groups.length === 0 ? empty : bootstrapConfidenceInterval({ values: itemAccuracy, ...bootstrap }),
    meanScore: mean(itemScore),
    passAtK: passAtKTable,
    majorityAtN: mean(majority.map((correct) => (correct ? 1 : 0))),
    toolUsage: summarizeToolUsage(records),
    refusedToolCallsPerSample: mean(records.map((record) => record.refusedToolCalls)),
    tokens: {
      meanPrompt: mean(records.map((record) => record.tokens.prompt)),
      meanResponse: mean(records.map((record) => record.tokens.response)),
      meanModel: mean(records.map((record) => record.tokens.model)),
      meanTool: mean(records.map((record) => record.tokens.tool)),
      totalModel: records.reduce((sum, record) => sum + record.tokens.model, 0),
    },
    latencyMs: describeDistribution(records.map((record) => record.latencyMs)),
    extraction: shares(records.map((record) => record.extraction)),
    finishReasons: shares(records.map((record) => record.finishReason)),
    byDataSource: Object.fromEntries(
      [...bySource].map(([source, entry]) => [
        source,
        { items: entry.items.size, samples: entry.samples, accuracy: entry.correct / entry.samples },
      ]),
    ),
  };
}
