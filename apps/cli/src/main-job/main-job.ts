import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getAlgorithmPreset } from '@arpo/advantage';
import { createRandom, type EventSink, fanOutEventSink, type Task } from '@arpo/core';
import { NativePolicy, trainByteLevelBpe } from '@arpo/policy';
import { createArpoTagProtocol, createPythonTool } from '@arpo/sandbox';
import {
  createArpoReward,
  demonstrationText,
  generateArithmeticTasks,
  generateDemonstrations,
} from '@arpo/tasks';
import { DecoderTransformer } from '@arpo/tensor';
import {
  createJsonlMetricsSink,
  demonstrationToSequence,
  type EvaluationResult,
  evaluatePolicy,
  LocalTrainerBackend,
  type RlAlgorithmSettings,
  runRlStep,
  runSft,
} from '@arpo/trainer';

/** Sizes of the main job; the defaults fit a 2-core laptop. */
export interface MainJobOptions {
  seed: number;
  /** Where the run's files go. */
  directory: string;
  trainTasks: number;
  testTasks: number;
  imperfectShare: number;
  sftEpochs: number;
  rlSteps: number;
  promptsPerStep: number;
  algorithm: 'grpo' | 'dapo' | 'arpo';
  log: (line: string) => void;
  events?: EventSink;
}

export const defaultMainJobOptions: Omit<MainJobOptions, 'directory' | 'log'> = {
  seed: 1,
  trainTasks: 800,
  testTasks: 100,
  imperfectShare: 0.3,
  sftEpochs: 3,
  rlSteps: 12,
  promptsPerStep: 8,
  algorithm: 'arpo',
};

export interface MainJobSummary {
  directory: string;
  algorithm: string;
  before: Omit<EvaluationResult, 'transcripts'>;
  after: Omit<EvaluationResult, 'transcripts'>;
  sft: { steps: number; epochLosses: number[] };
  rl: { steps: number; lastMetrics: Record<string, number> };
  seconds: { total: number; sft: number; rl: number; evaluation: number };
}

/** The algorithm settings of the main job: the reference preset's objective, sized for a tiny CPU model. */
export function mainJobAlgorithm(name: MainJobOptions['algorithm']): RlAlgorithmSettings {
  const preset = getAlgorithmPreset(name);
  const rollout = { temperature: 1, maxResponseTokens: 160, maxToolCalls: 3, toolTimeoutMs: 10_000 };
  const optimizer = { learningRate: 2e-4, weightDecay: 0, maxGradientNorm: 1 };
  const loss = { ...preset.loss, klCoefficient: 0 };
  if (name === 'arpo') {
    return {
      name,
      sampler: { kind: 'arpo', arpo: { mode: 'reference', trajectories: 8, initial: 4, branchesPerFork: 1 } },
      estimator: preset.estimator,
      loss,
      optimizer,
      rollout,
      microBatchSize: 16,
    };
  }
  return {
    name,
    sampler: { kind: 'independent', trajectoriesPerPrompt: 8 },
    estimator: preset.estimator,
    loss,
    optimizer,
    rollout,
    microBatchSize: 16,
    ...(name === 'dapo'
      ? {
          dynamicSampling: { maxRounds: 3 },
          overlong: { maxResponseLength: 160, bufferLength: 40, penaltyFactor: 1 },
        }
      : {}),
  };
}

function withoutTranscripts(result: EvaluationResult): Omit<EvaluationResult, 'transcripts'> {
  const { transcripts: _transcripts, ...rest } = result;
  return rest;
}

function formatEvaluation(result: EvaluationResult): string {
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  return `accuracy ${percent(result.accuracy)}, reward ${result.meanReward.toFixed(3)}, tool use ${percent(result.toolUse)}, tool calls/sample ${result.toolCallsPerSample.toFixed(2)}, tool errors ${percent(result.toolErrors)}, format errors ${percent(result.formatErrors)}`;
}

/**
 * The main job: built-in Python arithmetic tasks → teacher demonstrations (with a share of mistakes) → a BPE
 * tokenizer and a small decoder transformer trained in-process (SFT cold start) → evaluation → RL (ARPO by
 * default) → evaluation. Saves metrics (JSONL), a summary and the final checkpoint under `directory`.
 */
export async function runMainJob(options: MainJobOptions): Promise<MainJobSummary> {
  const started = performance.now();
  const { log } = options;
  await mkdir(options.directory, { recursive: true });
  const metricsPath = join(options.directory, 'metrics.jsonl');
  const events = fanOutEventSink([
    createJsonlMetricsSink(metricsPath),
    ...(options.events ? [options.events] : []),
  ]);

  log('Starting the Python sandbox (Pyodide, 2 workers)...');
  const python = createPythonTool({ pool: { size: 2 } });
  try {
    await python.pool.ready();
    const protocol = createArpoTagProtocol();
    const runPython = async (code: string) => {
      const result = await python.execute(code, { timeoutMs: 10_000 });
      return result.ok ? result.output : `Error: ${result.error.message}`;
    };

    const train = generateArithmeticTasks({
      seed: options.seed,
      count: options.trainTasks,
      split: 'train',
      testCount: options.testTasks,
      systemPrompt: null,
    });
    const test = generateArithmeticTasks({ seed: options.seed, count: options.testTasks, split: 'test', systemPrompt: null });
    log(`Tasks: ${train.length} train, ${test.length} test (arithmetic with the Python tool).`);
    const demonstrations = await generateDemonstrations(train, {
      seed: options.seed,
      imperfectShare: options.imperfectShare,
      tools: { python: runPython },
      formatResult: (output) =>
        protocol.formatResults([
          { call: { kind: 'call', toolName: 'python', input: '', raw: '' }, result: { ok: true, output } },
        ]),
    });
    const corpus = [
      ...demonstrations.map(
        (demonstration) => `${demonstration.task.prompt.at(-1)?.content}\n${demonstrationText(demonstration)}`,
      ),
    ];
    const tokenizer = trainByteLevelBpe({
      corpus,
      vocabularySize: 272,
      extraTokens: ['<|system|>', '<|user|>', '<|assistant|>'],
    });
    await tokenizer.save(join(options.directory, 'tokenizer'));
    log(`Tokenizer: byte-level BPE, ${tokenizer.vocabularySize} tokens.`);

    const model = new DecoderTransformer({
      vocabSize: tokenizer.vocabularySize,
      contextLength: 256,
      modelDim: 128,
      layers: 2,
      heads: 4,
    });
    const parameters = model.initializeParameters({ seed: options.seed });
    const policy = await NativePolicy.create({ model, parameters, tokenizer, seed: options.seed });
    const backend = new LocalTrainerBackend({
      model,
      parameters,
      policy,
      directory: join(options.directory, 'checkpoints'),
    });
    log(
      `Model: decoder transformer, 2 layers, d_model 128, ${model.parameterCount().toLocaleString('en-US')} parameters.`,
    );

    const environment = { policy, tools: [python], protocol, reward: createArpoReward() };
    const sequences = demonstrations.map((demonstration) =>
      demonstrationToSequence(
        {
          prompt: tokenizer.applyChatTemplate!(demonstration.task.prompt, { addGenerationPrompt: true }),
          turns: demonstration.turns,
        },
        tokenizer,
      ),
    );
    const sftStarted = performance.now();
    const batchSize = 16;
    const stepsPerEpoch = Math.ceil(sequences.length / batchSize);
    const sft = await runSft({
      backend,
      sequences,
      epochs: options.sftEpochs,
      batchSize,
      learningRate: {
        kind: 'warmup-cosine',
        peakLearningRate: 3e-3,
        warmupSteps: 10,
        totalSteps: stepsPerEpoch * options.sftEpochs,
        minLearningRate: 3e-4,
      },
      maxGradientNorm: 1,
      seed: options.seed,
      maxTokens: model.config.contextLength,
      events,
      onStep: ({ step, loss }) => {
        if (step % 25 === 0)
          log(`  SFT step ${step}/${stepsPerEpoch * options.sftEpochs}: loss ${loss.toFixed(3)}`);
      },
    });
    const sftSeconds = (performance.now() - sftStarted) / 1000;
    log(
      `SFT done: ${sft.steps} steps in ${sftSeconds.toFixed(0)} s; epoch losses ${sft.epochLosses.map((loss) => loss.toFixed(3)).join(', ')}.`,
    );

    let evaluationSeconds = 0;
    const evaluate = async (step: number, name: string) => {
      const evaluationStarted = performance.now();
      const result = await evaluatePolicy({
        environment,
        tasks: test,
        seed: options.seed,
        maxResponseTokens: 160,
        events,
        step,
      });
      evaluationSeconds += (performance.now() - evaluationStarted) / 1000;
      const lines = result.transcripts.map((transcript) => JSON.stringify(transcript)).join('\n');
      await writeFile(join(options.directory, `transcripts-${name}.jsonl`), `${lines}\n`);
      return result;
    };
    const before = await evaluate(0, 'after-sft');
    log(`Evaluation after SFT: ${formatEvaluation(before)}`);

    const algorithm = mainJobAlgorithm(options.algorithm);
    const random = createRandom({ seed: options.seed }).derive('rl-prompts');
    const rlStarted = performance.now();
    let lastMetrics: Record<string, number> = {};
    for (let step = 0; step < options.rlSteps; step++) {
      const pool: Task[] = random
        .shuffle([...train])
        .slice(0, options.promptsPerStep * (algorithm.dynamicSampling ? 3 : 1));
      const result = await runRlStep({
        step,
        seed: createRandom({ seed: options.seed }).derive(`rl-${step}`).nextUint32(),
        backend,
        environment,
        tasks: pool,
        batchSize: options.promptsPerStep,
        algorithm,
        events,
      });
      lastMetrics = result.metrics;
      log(
        `  ${algorithm.name} step ${step + 1}/${options.rlSteps}: reward ${result.metrics.reward?.toFixed(3)}, accuracy ${((result.metrics.accuracy ?? 0) * 100).toFixed(0)}%, trajectories ${result.metrics.trajectories}, tokens computed ${result.metrics.tokens_computed} / reused ${result.metrics.tokens_reused}${result.skipped ? ' (update skipped)' : ''}`,
      );
    }
    const rlSeconds = (performance.now() - rlStarted) / 1000;
    const after = await evaluate(options.rlSteps, `after-${options.algorithm}`);
    log(`Evaluation after ${algorithm.name}: ${formatEvaluation(after)}`);
    const checkpoint = await backend.saveState('final');
    const summary: MainJobSummary = {
      directory: options.directory,
      algorithm: algorithm.name,
      before: withoutTranscripts(before),
      after: withoutTranscripts(after),
      sft,
      rl: { steps: options.rlSteps, lastMetrics },
      seconds: {
        total: (performance.now() - started) / 1000,
        sft: sftSeconds,
        rl: rlSeconds,
        evaluation: evaluationSeconds,
      },
    };
    await writeFile(join(options.directory, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    log(`Saved: ${join(options.directory, 'summary.json')}, ${metricsPath}, checkpoint ${checkpoint.path}`);
    await backend.close();
    await policy.close();
    return summary;
  } finally {
    await python.close();
  }
}
