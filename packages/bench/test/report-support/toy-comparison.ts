// A genuinely short real comparison: the tiny byte-level transformer of toy-environment.ts (random init, a real
// `square` tool), GRPO and ARPO with the reference presets' estimators and objectives, the same budget and seeds,
// then a sampled evaluation (pass@k, bootstrap intervals over items). Used by scripts/example-report.ts and by
// the Chromium test of a report built from real output.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AlgorithmPresetName, getAlgorithmPreset } from '@arpo/advantage';
import { rolloutGroupToJson } from '@arpo/rollout';
import { evaluatePolicy, type RlAlgorithmSettings, runRlTraining } from '@arpo/trainer';
import {
  type AlgorithmReport,
  bootstrapConfidenceInterval,
  type ComparisonReportData,
  defaultPassAtKValues,
  type ItemSampleCounts,
  passAtKPerItem,
  type ReportConfidenceInterval,
  type ReportRolloutTree,
  type SeedTrainingRun,
} from '../../src/index.js';
import { createToyEnvironment, toyTasks } from './toy-environment.js';

export interface ToyComparisonOptions {
  steps: number;
  seeds?: number[];
  promptsPerStep?: number;
  trajectoriesPerPrompt?: number;
  trainTasks?: number;
  evaluationTasks?: number;
  samplesPerTask?: number;
  /** Recorded as the report's command. */
  command: string;
  log?: (line: string) => void;
}

/** Trains GRPO and ARPO on the toy task from the same initial weights and returns the report data. */
export async function runToyComparison(options: ToyComparisonOptions): Promise<ComparisonReportData> {
  const { steps, command } = options;
  const log = options.log ?? (() => undefined);
  const seeds = options.seeds ?? [1, 2];
  const promptsPerStep = options.promptsPerStep ?? 4;
  const trajectoriesPerPrompt = options.trajectoriesPerPrompt ?? 8;
  const maxResponseTokens = 40;
  const maxToolCalls = 3;
  const samplesPerTask = options.samplesPerTask ?? 8;
  const trainTasks = toyTasks({ count: options.trainTasks ?? 16, prefix: 't' });
  const evaluationTasks = toyTasks({ count: options.evaluationTasks ?? 16, prefix: 'e' });
  /** The preset's estimator and objective, sized for the toy (no reference model, so no KL term). */
  function algorithmSettings(name: AlgorithmPresetName): RlAlgorithmSettings {
    const preset = getAlgorithmPreset(name);
    const common = {
      name,
      estimator: preset.estimator,
      estimatorOptions: preset.estimatorOptions,
      loss: { ...preset.loss, klCoefficient: 0 },
      optimizer: { learningRate: 1e-2, maxGradientNorm: 1 },
      rollout: { temperature: 1, maxResponseTokens, maxToolCalls },
    };
    return name === 'arpo'
      ? {
          ...common,
          sampler: {
            kind: 'arpo',
            arpo: { mode: 'reference', trajectories: trajectoriesPerPrompt, initial: 4, branchesPerFork: 1 },
          },
        }
      : { ...common, sampler: { kind: 'independent', trajectoriesPerPrompt } };
  }

  const toReportInterval = (values: Float64Array, seed: number): ReportConfidenceInterval => {
    const { lower, upper, confidence, method, resamples } = bootstrapConfidenceInterval({ values, seed });
    return { lower, upper, confidence, method, resamples };
  };
  const mean = (values: ArrayLike<number>) =>
    Array.from(values).reduce((sum, value) => sum + value, 0) / values.length;

  const scratch = await mkdtemp(join(tmpdir(), 'arpo-example-report-'));
  const algorithms: AlgorithmReport[] = [];
  let modelDescription = '';
  try {
    for (const name of ['grpo', 'arpo'] as const) {
      const settings = algorithmSettings(name);
      const training: SeedTrainingRun[] = [];
      const trees: ReportRolloutTree[] = [];
      const items: ItemSampleCounts[] = [];
      const perSeed: { seed: number; value: number }[] = [];
      let toolCalls = 0;
      let toolUse = 0;
      let tokens = 0;
      let samples = 0;
      let trainingSeconds = 0;
      let evaluationSeconds = 0;
      for (const seed of seeds) {
        const toy = await createToyEnvironment({ directory: join(scratch, `${name}-${seed}`) });
        modelDescription = `decoder transformer, 1 layer, d_model 32, byte tokenizer, ${toy.model.parameterCount().toLocaleString('en-US')} parameters, random init`;
        try {
          const run: SeedTrainingRun = { seed, steps: [] };
          const trainingStarted = performance.now();
          await runRlTraining({
            backend: toy.backend,
            environment: toy.environment,
            tasks: trainTasks,
            algorithm: settings,
            steps,
            promptsPerStep,
            seed,
            directory: join(scratch, `${name}-${seed}`, 'training'),
            onStep: (step, result) => {
              run.steps.push({ step, ...result.metrics });
              if (step === steps - 1) {
                for (const group of result.groups.slice(0, 2)) {
                  trees.push({ seed, step, tree: rolloutGroupToJson(group, { tokenizer: toy.tokenizer }) });
                }
              }
              const reward = result.metrics.reward ?? 0;
              log(`${name} seed ${seed} step ${step}: reward ${reward.toFixed(3)}`);
            },
          });
          trainingSeconds += (performance.now() - trainingStarted) / 1000;
          training.push(run);

          const evaluationStarted = performance.now();
          const evaluation = await evaluatePolicy({
            environment: toy.environment,
            tasks: evaluationTasks,
            seed: 1000 + seed,
            samples: samplesPerTask,
            temperature: 1,
            maxResponseTokens,
            maxToolCalls,
          });
          evaluationSeconds += (performance.now() - evaluationStarted) / 1000;
          const correctByTask = new Map<string, number>();
          for (const transcript of evaluation.transcripts) {
            correctByTask.set(
              transcript.taskId,
              (correctByTask.get(transcript.taskId) ?? 0) + transcript.correct,
            );
          }
          for (const task of evaluationTasks) {
            items.push({ samples: samplesPerTask, correct: correctByTask.get(task.id) ?? 0 });
          }
          perSeed.push({ seed, value: evaluation.accuracy });
          toolCalls += evaluation.toolCallsPerSample * evaluation.samples;
          toolUse += evaluation.toolUse * evaluation.samples;
          tokens += evaluation.meanResponseTokens * evaluation.samples;
          samples += evaluation.samples;
          log(`${name} seed ${seed}: evaluation accuracy ${evaluation.accuracy.toFixed(3)}`);
        } finally {
          await toy.close();
        }
      }
      const accuracyPerItem = Float64Array.from(items, (item) => item.correct / item.samples);
      algorithms.push({
        name,
        description:
          name === 'arpo'
            ? `ARPO sampler (reference mode: ${trajectoriesPerPrompt} per prompt, 4 initial, branching after tool calls), ${settings.estimator} advantages`
            : `${trajectoriesPerPrompt} independent trajectories per prompt, ${settings.estimator} advantages`,
        training,
        evaluation: {
          accuracy: { mean: mean(accuracyPerItem), interval: toReportInterval(accuracyPerItem, 0), perSeed },
          passAtK: defaultPassAtKValues(samplesPerTask).map((k) => {
            const values = passAtKPerItem({ items, k });
            return { k, mean: mean(values), interval: toReportInterval(values, k) };
          }),
          samples,
          toolCallsPerSample: toolCalls / samples,
          tokensPerSample: tokens / samples,
          wallTimeSeconds: {
            training: trainingSeconds,
            evaluation: evaluationSeconds,
            total: trainingSeconds + evaluationSeconds,
          },
          extra: { tool_use: toolUse / samples },
        },
        trees,
      });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const data: ComparisonReportData = {
    format: 'arpo-comparison-report',
    version: 1,
    title: 'GRPO vs ARPO on a toy tool task',
    createdAt: new Date().toISOString(),
    run: {
      command,
      seeds,
      budget: {
        steps,
        trajectoriesPerStep: promptsPerStep * trajectoriesPerPrompt,
        promptsPerStep,
        maxToolCallsPerTrajectory: maxToolCalls,
        maxResponseTokens,
      },
      model: modelDescription,
      trainingData: `${trainTasks.length} toy prompts`,
      evaluation: {
        dataset: 'held-out toy prompts',
        tasks: evaluationTasks.length,
        samplesPerTask,
        temperature: 1,
      },
      notes: [
        'A toy run that shows the report, not a benchmark: reward = share of lower-case letters in the response (tool results count), correct when at least 50%.',
        'Any digit the model writes calls the `square` tool; both algorithms start from the same initial weights and use learning rate 1e-2.',
        'Intervals: percentile bootstrap over (seed, prompt) items, 2000 resamples.',
      ],
    },
    algorithms,
  };
  return data;
}
