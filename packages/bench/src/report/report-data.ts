import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, lazySchema, parse, ValidationError } from '@arpo/core';
import type { RolloutTreeJson } from '@arpo/rollout';
import { z } from 'zod';

/** Value of `format` in every report file. */
export const comparisonReportFormat = 'arpo-comparison-report';
/** Version of the report data shape; bumped on breaking changes. */
export const comparisonReportVersion = 1;

/**
 * A confidence interval as a report stores it. The `ConfidenceInterval` that `bootstrapConfidenceInterval`
 * returns fits as it is (its `estimate` is dropped; the report keeps the mean next to the interval).
 */
export interface ReportConfidenceInterval {
  lower: number;
  upper: number;
  /** Nominal coverage, for example 0.95. */
  confidence: number;
  /** How it was computed, for example `percentile-bootstrap`. */
  method?: string;
  resamples?: number;
}

/** What every algorithm got to spend: the comparison is fair when these are equal. */
export interface ComparisonBudget {
  /** RL steps per seed. */
  steps: number;
  /** Trajectories sampled per step (prompts per step × trajectories per prompt). */
  trajectoriesPerStep: number;
  promptsPerStep?: number;
  /** Tool-call limit of one trajectory. */
  maxToolCallsPerTrajectory?: number;
  /** Response-token limit of one trajectory (model plus tool tokens). */
  maxResponseTokens?: number;
}

/** How and on what the comparison ran. */
export interface ComparisonRunMetadata {
  /** The command line that produced the report. */
  command: string;
  /** Every algorithm trains once per seed. */
  seeds: number[];
  budget: ComparisonBudget;
  /** Free-form description of the model, for example `decoder transformer, 2 layers, d_model 128`. */
  model?: string;
  /** The training data, for example `arithmetic (800 tasks)`. */
  trainingData?: string;
  /** The evaluation set and how it was sampled. */
  evaluation?: { dataset: string; tasks: number; samplesPerTask: number; temperature?: number };
  /** Anything a reader should know (hardware, caveats). */
  notes?: string[];
}

/**
 * One step of one training run: the metrics `runRlStep` returns (and `createJsonlMetricsSink` writes), for
 * example `reward`, `accuracy`, `entropy`, `tool_calls_per_trajectory`, `tool_calls_executed`,
 * `tokens_computed`, `tokens_reused`, `response_length`, `loss`, `time_rollout_ms`. `null` marks a value that
 * was not finite (JSON has no NaN).
 */
export interface TrainingStepRecord {
  step: number;
  [metric: string]: number | null;
}

/** The training curve of one algorithm under one seed. */
export interface SeedTrainingRun {
  seed: number;
  steps: TrainingStepRecord[];
  /**
   * The weights training started from: where they were loaded and a SHA-256 of their values. Equal hashes across
   * algorithms for a seed show that every algorithm started from the same checkpoint.
   */
  start?: { checkpoint: string; sha256: string };
}

/** pass@k of one algorithm (unbiased estimator, Chen et al. 2021). */
export interface PassAtKEstimate {
  k: number;
  mean: number;
  interval?: ReportConfidenceInterval;
}

/** The evaluation of one algorithm's trained policies, pooled over seeds. */
export interface EvaluationSummary {
  /** Mean accuracy over every sample (mean@n), with its interval and the per-seed values. */
  accuracy: {
    mean: number;
    interval?: ReportConfidenceInterval;
    perSeed?: { seed: number; value: number }[];
  };
  passAtK: PassAtKEstimate[];
  /** Samples scored, over all seeds. */
  samples: number;
  toolCallsPerSample: number;
  /** Mean response tokens of a sample (model plus tool tokens). */
  tokensPerSample: number;
  /** Wall time summed over seeds. */
  wallTimeSeconds: { training?: number; evaluation?: number; total: number };
  /** Further numbers shown in a table as they are (for example `tool_use`, `format_errors`). */
  extra?: Record<string, number>;
}

/** A rollout tree shown in the viewer, with where it came from. */
export interface ReportRolloutTree {
  seed?: number;
  step?: number;
  label?: string;
  /** As `rolloutGroupToJson` from `@arpo/rollout` produces it (pass the tokenizer so texts are included). */
  tree: RolloutTreeJson;
}

/** Everything the report shows about one algorithm. */
export interface AlgorithmReport {
  /** Short name, for example `grpo`. Unique within a report. */
  name: string;
  description?: string;
  /** One run per seed. */
  training: SeedTrainingRun[];
  evaluation: EvaluationSummary;
  /** A few rollout groups to browse in the tree viewer. */
  trees: ReportRolloutTree[];
}

/**
 * The data of a comparison report: JSON-serialisable, written as `report.json` by `writeReports` and read
 * back with `loadComparisonReport`. Renderers derive everything else (curves, totals) from it.
 */
export interface ComparisonReportData {
  format: typeof comparisonReportFormat;
  version: typeof comparisonReportVersion;
  title: string;
  /** ISO 8601 time the report was made. */
  createdAt: string;
  run: ComparisonRunMetadata;
  algorithms: AlgorithmReport[];
}

/** Accepts any JS number or null; non-finite numbers become null so the data survives JSON. */
const metricValue = () =>
  z
    .custom<number | null>((value) => value === null || typeof value === 'number', {
      message: 'must be a number or null',
    })
    .transform((value) => (value !== null && Number.isFinite(value) ? value : null));

const finite = () => z.number();
const count = () => z.number().int().nonnegative();

const intervalSchema = () =>
  z
    .object({
      lower: finite(),
      upper: finite(),
      confidence: z.number().gt(0).lt(1),
      method: z.string().optional(),
      resamples: count().optional(),
    })
    .refine((interval) => interval.lower <= interval.upper, {
      message: 'lower must not exceed upper',
      path: ['lower'],
    });

const treeJsonSchema = () =>
  z
    .object({
      promptId: z.string(),
      prompt: z.string().optional(),
      nodes: z
        .array(
          z.object({
            id: count(),
            parentId: count().nullable(),
            children: z.array(count()),
            start: count(),
            end: count(),
            trajectoryIndices: z.array(count()),
            text: z.string().optional(),
            toolShare: z.number().min(0).max(1),
            fork: z
              .object({
                entropy: finite(),
                entropyDelta: finite(),
                probability: finite(),
                branches: count(),
              })
              .optional(),
          }),
        )
        .min(1),
      trajectories: z.array(
        z.object({
          id: z.string(),
          finishReason: z.string(),
          reward: finite().optional(),
          toolCalls: count(),
          responseTokens: count(),
          text: z.string().optional(),
        }),
      ),
      statistics: z.object({
        computedTokens: count(),
        reusedTokens: count(),
        toolCalls: count(),
        rounds: count().optional(),
      }),
    })
    .superRefine((tree, context) => {
      // The viewer walks the tree by ids; these are the links it relies on.
      const nodeCount = tree.nodes.length;
      tree.nodes.forEach((node, index) => {
        const issue = (field: string, message: string) =>
          context.addIssue({ code: 'custom', path: ['nodes', index, field], message });
        if (node.id !== index) issue('id', `must equal its index ${index}`);
        if (node.end < node.start) issue('end', `is before start ${node.start}`);
        if (index === 0 ? node.parentId !== null : node.parentId === null || node.parentId >= index) {
          issue('parentId', index === 0 ? 'the root (node 0) has no parent' : 'must name an earlier node');
        }
        for (const child of node.children) {
          if (child <= index || child >= nodeCount || tree.nodes[child]?.parentId !== index) {
            issue('children', `child ${child} is not a later node whose parent is ${index}`);
          }
        }
        for (const trajectory of node.trajectoryIndices) {
          if (trajectory >= tree.trajectories.length) {
            issue('trajectoryIndices', `trajectory ${trajectory} does not exist`);
          }
        }
      });
    });

/** The schema of `ComparisonReportData` (built on first use). */
export const comparisonReportDataSchema = lazySchema<ComparisonReportData>('comparison report', () =>
  z.object({
    format: z.literal(comparisonReportFormat),
    version: z.literal(comparisonReportVersion),
    title: z.string(),
    createdAt: z.string(),
    run: z.object({
      command: z.string(),
      seeds: z.array(z.number().int()),
      budget: z.object({
        steps: count(),
        trajectoriesPerStep: count(),
        promptsPerStep: count().optional(),
        maxToolCallsPerTrajectory: count().optional(),
        maxResponseTokens: count().optional(),
      }),
      model: z.string().optional(),
      trainingData: z.string().optional(),
      evaluation: z
        .object({
          dataset: z.string(),
          tasks: count(),
          samplesPerTask: count(),
          temperature: z.number().nonnegative().optional(),
        })
        .optional(),
      notes: z.array(z.string()).optional(),
    }),
    algorithms: z
      .array(
        z.object({
          name: z.string().min(1),
          description: z.string().optional(),
          training: z
            .array(
              z.object({
                seed: z.number().int(),
                steps: z.array(z.object({ step: count() }).catchall(metricValue())),
                start: z.object({ checkpoint: z.string(), sha256: z.string() }).optional(),
              }),
            )
            .superRefine((runs, context) => {
              const seen = new Set<number>();
              runs.forEach((run, index) => {
                if (seen.has(run.seed)) {
                  context.addIssue({
                    code: 'custom',
                    path: [index, 'seed'],
                    message: `seed ${run.seed} appears twice`,
                  });
                }
                seen.add(run.seed);
              });
            }),
          evaluation: z.object({
            accuracy: z.object({
              mean: finite(),
              interval: intervalSchema().optional(),
              perSeed: z.array(z.object({ seed: z.number().int(), value: finite() })).optional(),
            }),
            passAtK: z.array(
              z.object({
                k: z.number().int().positive(),
                mean: finite(),
                interval: intervalSchema().optional(),
              }),
            ),
            samples: count(),
            toolCallsPerSample: finite(),
            tokensPerSample: finite(),
            wallTimeSeconds: z.object({
              training: finite().optional(),
              evaluation: finite().optional(),
              total: finite(),
            }),
            extra: z.record(z.string(), finite()).optional(),
          }),
          trees: z.array(
            z.object({
              seed: z.number().int().optional(),
              step: count().optional(),
              label: z.string().optional(),
              tree: treeJsonSchema(),
            }),
          ),
        }),
      )
      .superRefine((algorithms, context) => {
        const seen = new Set<string>();
        algorithms.forEach((algorithm, index) => {
          if (seen.has(algorithm.name)) {
            context.addIssue({
              code: 'custom',
              path: [index, 'name'],
              message: `algorithm '${algorithm.name}' appears twice`,
            });
          }
          seen.add(algorithm.name);
        });
      }),
  }),
);

/**
 * Validates report data handed in by a caller or read from a file; throws a `ValidationError` naming every
 * offending field (for example `algorithms[1].training[0].steps[4].reward`). Non-finite metric values become
 * `null`.
 */
export function parseComparisonReport(
  value: unknown,
  options: { source?: string } = {},
): ComparisonReportData {
  return parse(comparisonReportDataSchema, value, options);
}

/** Reads and validates a `report.json` file. */
export async function loadComparisonReport(path: string): Promise<ComparisonReportData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError({ argument: 'path', message: `cannot read ${path}`, cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError({
      subject: 'comparison report',
      source: path,
      issues: [{ path: [], message: `not valid JSON (${(error as Error).message})` }],
      cause: error,
    });
  }
  return parseComparisonReport(value, { source: path });
}
