import { createHash } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type AlgorithmReport,
  type BenchmarkItem,
  benchmarkItemsFromTasks,
  type ComparisonReportData,
  type ConfidenceInterval,
  comparisonReportFormat,
  comparisonReportVersion,
  createDefaultScorer,
  type EvaluationRunSummary,
  type LoadBenchmarkOptions,
  loadBenchmark,
  type ReportConfidenceInterval,
  type ReportRolloutTree,
  runEvaluation,
  type SampleRecord,
  type SeedTrainingRun,
  summarizeResults,
  type TrainingStepRecord,
  writeReports,
} from '@arpo/bench';
import { rolloutGroupToJson } from '@arpo/rollout';
import { createJsonlMetricsSink } from '@arpo/trainer';
import { type AlgorithmName, mergeRunConfig, type RunConfig } from '../run-config/run-config.js';
import {
  checkSavedTokenizer,
  createEmbeddedSetup,
  type EmbeddedSetup,
  saveTokenizer,
} from './embedded-setup.js';
import { claimRunDirectory } from './main-job.js';
import { rlPhase, sftPhase, writeJsonAtomic } from './phases.js';

export interface ComparisonOptions {
  /** The shared config; `rl.algorithm` is replaced by each of `algorithms`. */
  config: RunConfig;
  algorithms: readonly AlgorithmName[];
  seeds: readonly number[];
  directory: string;
  /** The command line, recorded in the report. */
  command: string;
  /**
   * A benchmark file to evaluate on (JSONL / JSON / Parquet through `@arpo/bench`'s loaders and adapters); by
   * default the held-out built-in tasks of the config.
   */
  dataset?: LoadBenchmarkOptions;
  log: (line: string) => void;
}

/** One algorithm's evaluation under one seed, through `@arpo/bench`'s runner. */
interface SeedEvaluation {
  /** Sampled at the evaluation temperature, `evaluation.samples` per item. */
  records: SampleRecord[];
  summary: EvaluationRunSummary;
  /** One greedy (temperature 0) sample per item. */
  greedyAccuracy: number;
  seconds: number;
}

interface AlgorithmSeedResult {
  seed: number;
  start: NonNullable<SeedTrainingRun['start']>;
  evaluation: SeedEvaluation;
  steps: TrainingStepRecord[];
  trainingSeconds: number;
  trees: ReportRolloutTree[];
}

/** SHA-256 over the parameters' names, shapes and float values, in name order. */
function weightsHash(parameters: EmbeddedSetup['parameters']): string {
  const hash = createHash('sha256');
  for (const name of [...parameters.keys()].sort()) {
    const value = parameters.get(name);
    if (value === undefined) continue;
    hash.update(`${name}:${value.shape.join('x')};`);
    const data = value.data as Float32Array;
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

/**
 * Evaluates the setup's current policy on `items` with `@arpo/bench`'s `runEvaluation` (the multi-turn agent
 * loop, the default scorer by answer kind, resumable JSONL results): `evaluation.samples` samples per item at
 * the evaluation temperature, plus one greedy sample per item. Prompts are the items' own (the built-in tasks
 * carry no system prompt, as in training); a benchmark file's questions are asked as they are.
 */
async function evaluateWithBench(options: {
  setup: EmbeddedSetup;
  items: readonly BenchmarkItem[];
  directory: string;
  name: string;
}): Promise<SeedEvaluation> {
  const { setup, items, directory, name } = options;
  const { evaluation, seed, rl } = setup.config;
  await mkdir(directory, { recursive: true });
  const started = performance.now();
  const common = {
    policy: setup.policy,
    tools: setup.tools,
    protocol: setup.protocol,
    dataset: items,
    scorer: createDefaultScorer(),
    systemPrompt: null,
    // One rollout batch per turn for the in-process policy.
    concurrency: 1,
  };
  const sampled = await runEvaluation({
    ...common,
    samples: evaluation.samples,
    batchSize: Math.min(64, items.length * evaluation.samples),
    settings: {
      seed: seed + 1,
      temperature: evaluation.temperature,
      maxResponseTokens: evaluation.maxResponseTokens,
      maxToolCalls: rl.maxToolCalls,
    },
    resultsPath: join(directory, `evaluation-${name}.jsonl`),
  });
  const greedy = await runEvaluation({
    ...common,
    samples: 1,
    batchSize: Math.min(64, items.length),
    settings: {
      seed,
      temperature: 0,
      maxResponseTokens: evaluation.maxResponseTokens,
      maxToolCalls: rl.maxToolCalls,
    },
    resultsPath: join(directory, `evaluation-${name}-greedy.jsonl`),
  });
  return {
    records: sampled.records,
    summary: sampled.summary,
    greedyAccuracy: greedy.summary.accuracy.estimate,
    seconds: (performance.now() - started) / 1000,
  };
}

function reportInterval(interval: ConfidenceInterval): ReportConfidenceInterval {
  const { lower, upper, confidence, method, resamples } = interval;
  return { lower, upper, confidence, method, resamples };
}

/**
 * The per-step metrics of one RL run: `steps.jsonl` (every step, skipped updates included, written by
 * `runComparison`), else the `train` lines of `metrics.jsonl` (runs from before `steps.jsonl`).
 */
async function readStepRecords(directory: string): Promise<TrainingStepRecord[]> {
  const stepsPath = join(directory, 'steps.jsonl');
  const metricsPath = join(directory, 'metrics.jsonl');
  const path = existsSync(stepsPath) ? stepsPath : metricsPath;
  if (!existsSync(path)) return [];
  const records: TrainingStepRecord[] = [];
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    // createJsonlMetricsSink lines are `{ kind: 'train', step, ...metrics }`; steps.jsonl lines have no kind.
    const { kind, step, ...metrics } = JSON.parse(line) as Record<string, unknown>;
    if ((kind !== undefined && kind !== 'train') || typeof step !== 'number' || !('reward' in metrics))
      continue;
    const record: TrainingStepRecord = { step };
    for (const [key, value] of Object.entries(metrics)) {
      if (typeof value === 'number') record[key] = value;
    }
    records.push(record);
  }
  // A resumed run may have logged a step twice: keep the last record of each step.
  const byStep = new Map(records.map((record) => [record.step, record]));
  return [...byStep.values()].sort((left, right) => left.step - right.step);
}

/**
 * `arpo compare`: for every seed, one SFT cold start; then every algorithm trains from that same checkpoint with
 * the same budget (steps, prompts per step, trajectories per prompt, tool-call and token limits) and the same
 * seed, and is evaluated through `@arpo/bench`'s runner on the same items (the held-out built-in tasks, or
 * `dataset`): accuracy (mean@n), pass@k and maj@n with bootstrap intervals, tool calls, tokens and time.
 * Everything is resumable (SFT, each RL run's checkpoints, each evaluation's results file). Writes report.json,
 * report.md and report.html (curves, pass@k, rollout trees) into `directory`.
 */
export async function runComparison(options: ComparisonOptions): Promise<ComparisonReportData> {
  const { log } = options;
  const results = new Map<AlgorithmName, AlgorithmSeedResult[]>(options.algorithms.map((name) => [name, []]));
  let modelDescription = '';
  let trainingData = '';
  let evaluationItems = 0;
  // A benchmark file is read (and its records checked) before any training, so bad data fails fast.
  const datasetItems =
    options.dataset === undefined ? undefined : (await loadBenchmark(options.dataset)).items;
  // Each evaluation set gets its own results files, so one run directory can be evaluated on several.
  const datasetTag =
    options.dataset === undefined
      ? ''
      : `-${basename(options.dataset.path).replace(/\.[^.]*$/, '')}-${createHash('sha256')
          .update(JSON.stringify({ ...options.dataset, adapter: String(options.dataset.adapter ?? '') }))
          .digest('hex')
          .slice(0, 8)}`;
  for (const seed of options.seeds) {
    const config = mergeRunConfig(options.config, { seed });
    const seedDirectory = join(options.directory, `seed-${seed}`);
    await claimRunDirectory(seedDirectory, config);
    log(`\n=== seed ${seed}: SFT cold start ===`);
    const setup = await createEmbeddedSetup({ config, directory: seedDirectory, log });
    try {
      modelDescription = `decoder transformer, ${config.model.layers} layers, d_model ${config.model.modelDim}, ${setup.model.parameterCount().toLocaleString('en-US')} parameters`;
      trainingData = `${setup.train.length} built-in tasks (${setup.demonstrations.length} demonstrations for SFT)`;
      const items =
        datasetItems ?? benchmarkItemsFromTasks(setup.test, { source: 'built-in held-out tasks' });
      evaluationItems = items.length;
      const tokenizerFolder = join(seedDirectory, 'tokenizer');
      if (existsSync(join(tokenizerFolder, 'tokenizer.json')))
        await checkSavedTokenizer(setup, tokenizerFolder);
      else await saveTokenizer(setup, tokenizerFolder);
      const sft = await sftPhase({ setup, directory: seedDirectory, log });
      for (const algorithm of options.algorithms) {
        const rl = { ...config.rl, algorithm };
        const directory = join(seedDirectory, algorithm);
        await setup.backend.loadState(sft.checkpoint);
        const start = { checkpoint: sft.checkpoint, sha256: weightsHash(setup.backend.parameters) };
        log(
          `--- seed ${seed}: ${algorithm}, ${rl.steps} steps from the SFT checkpoint (weights ${start.sha256.slice(0, 12)}) ---`,
        );
        const trees: ReportRolloutTree[] = [];
        const run = await rlPhase({
          setup,
          directory,
          rl,
          checkpointPrefix: `${algorithm}-`,
          events: createJsonlMetricsSink(join(directory, 'metrics.jsonl')),
          log,
          onStep: (step, result) => {
            // Every step's metrics, including steps whose update was skipped (DAPO without accuracy spread),
            // which metrics.jsonl only logs as a skip.
            appendFileSync(
              join(directory, 'steps.jsonl'),
              `${JSON.stringify({ step, ...result.metrics, skipped: result.skipped ? 1 : 0 })}\n`,
            );
            // Keep the last step's first two groups for the tree viewer.
            if (step !== rl.steps - 1) return;
            for (const group of result.groups.slice(0, 2)) {
              trees.push({
                seed,
                step: step + 1,
                label: `${algorithm}, seed ${seed}, step ${step + 1}, prompt ${group.promptId}`,
                tree: rolloutGroupToJson(group, { tokenizer: setup.tokenizer }),
              });
            }
          },
        });
        // Resumable: a re-run reuses the finished samples of the results files.
        const evaluation = await evaluateWithBench({
          setup,
          items,
          directory,
          name: `after-${algorithm}${datasetTag}`,
        });
        const { summary } = evaluation;
        log(
          `${algorithm} seed ${seed}: greedy ${(evaluation.greedyAccuracy * 100).toFixed(1)}%, sampled ${(summary.accuracy.estimate * 100).toFixed(1)}%, tool calls/sample ${summary.toolUsage.callsPerSample.toFixed(2)}`,
        );
        results.get(algorithm)?.push({
          seed,
          start,
          evaluation,
          steps: await readStepRecords(directory),
          trainingSeconds: run.seconds,
          trees,
        });
      }
    } finally {
      await setup.close();
    }
  }

  const { rl, evaluation } = options.config;
  const mean = (values: number[]) =>
    values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
  const algorithms: AlgorithmReport[] = options.algorithms.map((name) => {
    const runs = results.get(name) ?? [];
    // Pooled over seeds: every (seed, item) is one unit of the bootstrap, as the runner's own summary does.
    const pooled = summarizeResults(
      runs.flatMap((run) =>
        run.evaluation.records.map((record) => ({ ...record, itemId: `${run.seed}/${record.itemId}` })),
      ),
      { samplesPerItem: evaluation.samples, seed: 1 },
    );
    const hasInterval = pooled.items > 1;
    const sum = (value: (run: AlgorithmSeedResult) => number) =>
      runs.reduce((total, run) => total + value(run), 0);
    const training = sum((run) => run.trainingSeconds);
    const evaluationSeconds = sum((run) => run.evaluation.seconds);
    const extra: Record<string, number> = {
      greedy_accuracy: mean(runs.map((run) => run.evaluation.greedyAccuracy)),
      majority_at_n: pooled.majorityAtN,
      mean_score: pooled.meanScore,
      tool_use: pooled.toolUsage.samplesWithCalls,
      refused_tool_calls_per_sample: pooled.refusedToolCallsPerSample,
      model_tokens_per_sample: pooled.tokens.meanModel,
      latency_ms_p50: pooled.latencyMs.p50,
      tokens_computed: sum((run) =>
        run.steps.reduce((total, step) => total + (step.tokens_computed ?? 0), 0),
      ),
      tool_calls_executed: sum((run) =>
        run.steps.reduce((total, step) => total + (step.tool_calls_executed ?? 0), 0),
      ),
    };
    if (pooled.toolUsage.productivity !== undefined) extra.tool_productivity = pooled.toolUsage.productivity;
    return {
      name,
      description: `${name.toUpperCase()} preset from @arpo/advantage`,
      training: runs.map((run) => ({ seed: run.seed, steps: run.steps, start: run.start })),
      evaluation: {
        accuracy: {
          mean: pooled.accuracy.estimate,
          ...(hasInterval ? { interval: reportInterval(pooled.accuracy) } : {}),
          perSeed: runs.map((run) => ({ seed: run.seed, value: run.evaluation.summary.accuracy.estimate })),
        },
        passAtK: Object.entries(pooled.passAtK).map(([k, estimate]) => ({
          k: Number(k),
          mean: estimate.estimate,
          ...(hasInterval ? { interval: reportInterval(estimate) } : {}),
        })),
        samples: pooled.samples,
        toolCallsPerSample: pooled.toolUsage.callsPerSample,
        tokensPerSample: pooled.tokens.meanResponse,
        wallTimeSeconds: { training, evaluation: evaluationSeconds, total: training + evaluationSeconds },
        extra,
      },
      trees: runs.flatMap((run) => run.trees).slice(0, 4),
    };
  });
  const datasetName =
    options.dataset === undefined ? 'held-out built-in tasks' : basename(options.dataset.path);
  const data: ComparisonReportData = {
    format: comparisonReportFormat,
    version: comparisonReportVersion,
    title: `${options.algorithms.map((name) => name.toUpperCase()).join(' vs ')} on ${options.dataset === undefined ? 'the built-in tasks' : datasetName}`,
    createdAt: new Date().toISOString(),
    run: {
      command: options.command,
      seeds: [...options.seeds],
      budget: {
        steps: rl.steps,
        trajectoriesPerStep: rl.promptsPerStep * rl.trajectoriesPerPrompt,
        promptsPerStep: rl.promptsPerStep,
        maxToolCallsPerTrajectory: rl.maxToolCalls,
        maxResponseTokens: rl.maxResponseTokens,
      },
      model: modelDescription,
      trainingData,
      evaluation: {
        dataset:
          options.dataset === undefined
            ? datasetName
            : `${options.dataset.path}${typeof options.dataset.adapter === 'string' ? ` (${options.dataset.adapter})` : ''}`,
        tasks: evaluationItems,
        samplesPerTask: evaluation.samples,
        temperature: evaluation.temperature,
      },
      notes: [
        'Every algorithm starts from the same SFT checkpoint per seed (training[].start holds its weights hash) and uses the same seed.',
        'Evaluated with @arpo/bench runEvaluation and its default scorer (math equivalence for numbers, SQuAD exact match for names); per-sample results are in seed-<seed>/<algorithm>/evaluation-after-<algorithm>*.jsonl.',
        'Accuracy = mean@n over sampled answers at the evaluation temperature (equals pass@1); intervals are percentile bootstraps over tasks × seeds.',
        'DAPO may sample extra groups (dynamic sampling); tokens computed and tool calls executed show what each algorithm spent.',
      ],
    },
    algorithms,
  };
  await writeReports({ directory: options.directory, data });
  await writeJsonAtomic(join(options.directory, 'comparison-config.json'), options.config);
  return data;
}
