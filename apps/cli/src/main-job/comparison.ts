import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AlgorithmReport,
  bootstrapConfidenceInterval,
  type ComparisonReportData,
  comparisonReportFormat,
  comparisonReportVersion,
  defaultPassAtKValues,
  meanPassAtK,
  type ReportRolloutTree,
  type TrainingStepRecord,
  writeReports,
} from '@arpo/bench';
import { rolloutGroupToJson } from '@arpo/rollout';
import { createJsonlMetricsSink } from '@arpo/trainer';
import { type AlgorithmName, mergeRunConfig, type RunConfig } from '../run-config/run-config.js';
import { checkSavedTokenizer, createEmbeddedSetup, saveTokenizer } from './embedded-setup.js';
import { claimRunDirectory } from './main-job.js';
import {
  type EvaluationSummary,
  evaluationPhase,
  readJson,
  rlPhase,
  sftPhase,
  writeJsonAtomic,
} from './phases.js';

export interface ComparisonOptions {
  /** The shared config; `rl.algorithm` is replaced by each of `algorithms`. */
  config: RunConfig;
  algorithms: readonly AlgorithmName[];
  seeds: readonly number[];
  directory: string;
  /** The command line, recorded in the report. */
  command: string;
  log: (line: string) => void;
}

interface AlgorithmSeedResult {
  seed: number;
  evaluation: EvaluationSummary;
  steps: TrainingStepRecord[];
  trainingSeconds: number;
  trees: ReportRolloutTree[];
}

async function readStepRecords(path: string): Promise<TrainingStepRecord[]> {
  if (!existsSync(path)) return [];
  const records: TrainingStepRecord[] = [];
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    // createJsonlMetricsSink lines: `{ kind: 'train', step, ...metrics }` for RL steps.
    const { kind, step, ...metrics } = JSON.parse(line) as Record<string, unknown>;
    if (kind !== 'train' || typeof step !== 'number' || !('reward' in metrics)) continue;
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
 * seed, and is evaluated on the same held-out tasks. Everything is resumable (SFT and each RL run checkpoint).
 * Writes report.json, report.md and report.html (curves, pass@k, rollout trees) into `directory`.
 */
export async function runComparison(options: ComparisonOptions): Promise<ComparisonReportData> {
  const { log } = options;
  const results = new Map<AlgorithmName, AlgorithmSeedResult[]>(options.algorithms.map((name) => [name, []]));
  let modelDescription = '';
  let trainingData = '';
  let testTasks = 0;
  for (const seed of options.seeds) {
    const config = mergeRunConfig(options.config, { seed });
    const seedDirectory = join(options.directory, `seed-${seed}`);
    await claimRunDirectory(seedDirectory, config);
    log(`\n=== seed ${seed}: SFT cold start ===`);
    const setup = await createEmbeddedSetup({ config, directory: seedDirectory, log });
    try {
      modelDescription = `decoder transformer, ${config.model.layers} layers, d_model ${config.model.modelDim}, ${setup.model.parameterCount().toLocaleString('en-US')} parameters`;
      trainingData = `${setup.train.length} built-in tasks (${setup.demonstrations.length} demonstrations for SFT)`;
      testTasks = setup.test.length;
      const tokenizerFolder = join(seedDirectory, 'tokenizer');
      if (existsSync(join(tokenizerFolder, 'tokenizer.json')))
        await checkSavedTokenizer(setup, tokenizerFolder);
      else await saveTokenizer(setup, tokenizerFolder);
      const sft = await sftPhase({ setup, directory: seedDirectory, log });
      for (const algorithm of options.algorithms) {
        const rl = { ...config.rl, algorithm };
        const directory = join(seedDirectory, algorithm);
        await setup.backend.loadState(sft.checkpoint);
        log(`--- seed ${seed}: ${algorithm}, ${rl.steps} steps from the SFT checkpoint ---`);
        const trees: ReportRolloutTree[] = [];
        const run = await rlPhase({
          setup,
          directory,
          rl,
          checkpointPrefix: `${algorithm}-`,
          events: createJsonlMetricsSink(join(directory, 'metrics.jsonl')),
          log,
          onStep: (step, result) => {
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
        const evaluationPath = join(directory, `evaluation-after-${algorithm}.json`);
        const evaluation =
          run.resumedFrom === rl.steps && existsSync(evaluationPath)
            ? await readJson<EvaluationSummary>(evaluationPath)
            : await evaluationPhase({ setup, directory, name: `after-${algorithm}`, step: rl.steps });
        log(
          `${algorithm} seed ${seed}: greedy ${(evaluation.accuracy * 100).toFixed(1)}%, sampled ${(evaluation.sampledAccuracy * 100).toFixed(1)}%, tool calls/sample ${evaluation.sampledToolCallsPerSample.toFixed(2)}`,
        );
        results.get(algorithm)?.push({
          seed,
          evaluation,
          steps: await readStepRecords(join(directory, 'metrics.jsonl')),
          trainingSeconds: run.seconds,
          trees,
        });
      }
    } finally {
      await setup.close();
    }
  }

  const { rl, evaluation } = options.config;
  const algorithms: AlgorithmReport[] = options.algorithms.map((name) => {
    const runs = results.get(name) ?? [];
    const sampledValues = runs.map((run) => run.evaluation.sampledAccuracy);
    const items = runs.flatMap((run) =>
      run.evaluation.sampledPerTask.map((task) => ({ samples: task.samples, correct: task.correct })),
    );
    const perItemAccuracy = items.map((item) => item.correct / Math.max(1, item.samples));
    const interval = (values: number[]) => {
      const result = bootstrapConfidenceInterval({ values, seed: 1 });
      return {
        lower: result.lower,
        upper: result.upper,
        confidence: result.confidence,
        method: result.method,
        resamples: result.resamples,
      };
    };
    const mean = (values: number[]) =>
      values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
    return {
      name,
      description: `${name.toUpperCase()} preset from @arpo/advantage`,
      training: runs.map((run) => ({ seed: run.seed, steps: run.steps })),
      evaluation: {
        accuracy: {
          mean: mean(sampledValues),
          ...(perItemAccuracy.length > 1 ? { interval: interval(perItemAccuracy) } : {}),
          perSeed: runs.map((run) => ({ seed: run.seed, value: run.evaluation.sampledAccuracy })),
        },
        passAtK: defaultPassAtKValues(evaluation.samples).map((k) => ({
          k,
          mean: meanPassAtK({ items, k }),
        })),
        samples: items.reduce((sum, item) => sum + item.samples, 0),
        toolCallsPerSample: mean(runs.map((run) => run.evaluation.sampledToolCallsPerSample)),
        tokensPerSample: mean(runs.map((run) => run.evaluation.sampledResponseTokens)),
        wallTimeSeconds: {
          training: runs.reduce((sum, run) => sum + run.trainingSeconds, 0),
          evaluation: runs.reduce((sum, run) => sum + run.evaluation.seconds, 0),
          total: runs.reduce((sum, run) => sum + run.trainingSeconds + run.evaluation.seconds, 0),
        },
        extra: {
          greedy_accuracy: mean(runs.map((run) => run.evaluation.accuracy)),
          tool_use: mean(runs.map((run) => run.evaluation.toolUse)),
          format_errors: mean(runs.map((run) => run.evaluation.formatErrors)),
          tokens_computed: runs.reduce(
            (sum, run) => sum + run.steps.reduce((total, step) => total + (step.tokens_computed ?? 0), 0),
            0,
          ),
          tool_calls_executed: runs.reduce(
            (sum, run) => sum + run.steps.reduce((total, step) => total + (step.tool_calls_executed ?? 0), 0),
            0,
          ),
        },
      },
      trees: runs.flatMap((run) => run.trees).slice(0, 4),
    };
  });
  const data: ComparisonReportData = {
    format: comparisonReportFormat,
    version: comparisonReportVersion,
    title: `${options.algorithms.map((name) => name.toUpperCase()).join(' vs ')} on the built-in tasks`,
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
        dataset: 'held-out built-in tasks',
        tasks: testTasks,
        samplesPerTask: evaluation.samples,
        temperature: evaluation.temperature,
      },
      notes: [
        'Every algorithm starts from the same SFT checkpoint per seed and uses the same seed.',
        'Accuracy = mean@n over sampled answers at the evaluation temperature; the interval is a percentile bootstrap over tasks × seeds.',
        'DAPO may sample extra groups (dynamic sampling); tokens computed and tool calls executed show what each algorithm spent.',
      ],
    },
    algorithms,
  };
  await writeReports({ directory: options.directory, data });
  await writeJsonAtomic(join(options.directory, 'comparison-config.json'), options.config);
  return data;
}
