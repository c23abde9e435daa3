import { join } from 'node:path';
import type { EventSink, Task } from '@arpo/core';
import { type ByteLevelBpeTokenizer, NativePolicy, trainByteLevelBpe } from '@arpo/policy';
import {
  type ArpoTagProtocol,
  createArpoTagProtocol,
  createPythonTool,
  type PythonTool,
} from '@arpo/sandbox';
import {
  createArpoReward,
  type Demonstration,
  demonstrationText,
  generateArithmeticTasks,
  generateDemonstrations,
} from '@arpo/tasks';
import { DecoderTransformer, type TensorValue } from '@arpo/tensor';
import {
  demonstrationToSequence,
  LocalTrainerBackend,
  type RlEnvironment,
  runSft,
  type SftResult,
  type TokenSequence,
} from '@arpo/trainer';

/** Everything the main job (and the benchmarks built on it) trains and evaluates. */
export interface ArithmeticSetup {
  python: PythonTool;
  protocol: ArpoTagProtocol;
  train: Task[];
  test: Task[];
  demonstrations: Demonstration[];
  sequences: TokenSequence[];
  tokenizer: ByteLevelBpeTokenizer;
  model: DecoderTransformer;
  parameters: Map<string, TensorValue>;
  policy: NativePolicy;
  backend: LocalTrainerBackend;
  environment: RlEnvironment;
  close(): Promise<void>;
}

/**
 * Builds the embedded default: the Pyodide Python tool (2 workers), arithmetic tasks without a system prompt
 * (the small model learns the tag format from demonstrations and needs its context for the answer), teacher
 * demonstrations run through the real tool, a byte-level tokenizer (tool tags as single tokens, no merges:
 * digits stay single tokens, which makes copying numbers learnable for a tiny model) and a 2-layer decoder
 * with d_model 128.
 */
export async function createArithmeticSetup(options: {
  seed: number;
  trainTasks: number;
  testTasks: number;
  imperfectShare: number;
  directory: string;
  log: (line: string) => void;
}): Promise<ArithmeticSetup> {
  const { log } = options;
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
    const test = generateArithmeticTasks({
      seed: options.seed,
      count: options.testTasks,
      split: 'test',
      systemPrompt: null,
    });
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
    const tokenizer = trainByteLevelBpe({
      corpus: demonstrations.map(
        (demonstration) =>
          `${demonstration.task.prompt.at(-1)?.content}\n${demonstrationText(demonstration)}`,
      ),
      vocabularySize: 272,
      extraTokens: ['<|system|>', '<|user|>', '<|assistant|>'],
    });
    await tokenizer.save(join(options.directory, 'tokenizer'));
    log(`Tokenizer: byte-level, ${tokenizer.vocabularySize} tokens (tool tags are single tokens).`);
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
    const sequences = demonstrations.map((demonstration) =>
      demonstrationToSequence(
        {
          prompt: tokenizer.applyChatTemplate(demonstration.task.prompt, { addGenerationPrompt: true }),
          turns: demonstration.turns,
        },
        tokenizer,
      ),
    );
    return {
      python,
      protocol,
      train,
      test,
      demonstrations,
      sequences,
      tokenizer,
      model,
      parameters,
      policy,
      backend,
      environment: { policy, tools: [python], protocol, reward: createArpoReward() },
      async close() {
        await backend.close();
        await policy.close();
        await python.close();
      },
    };
  } catch (error) {
    await python.close();
    throw error;
  }
}

/** The SFT cold start: warmup + cosine from 3e-3, batch 16, gradient clipping at 1. */
export async function runSftPhase(
  setup: ArithmeticSetup,
  options: { epochs: number; seed: number; events?: EventSink; log: (line: string) => void },
): Promise<SftResult & { seconds: number }> {
  const started = performance.now();
  const batchSize = 16;
  const totalSteps = Math.ceil(setup.sequences.length / batchSize) * options.epochs;
  const result = await runSft({
    backend: setup.backend,
    sequences: setup.sequences,
    epochs: options.epochs,
    batchSize,
    learningRate: {
      kind: 'warmup-cosine',
      peakLearningRate: 3e-3,
      warmupSteps: 10,
      totalSteps,
      minLearningRate: 3e-4,
    },
    maxGradientNorm: 1,
    seed: options.seed,
    maxTokens: setup.model.config.contextLength,
    ...(options.events === undefined ? {} : { events: options.events }),
    onStep: ({ step, loss }) => {
      if (step % 25 === 0) options.log(`  SFT step ${step}/${totalSteps}: loss ${loss.toFixed(3)}`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  options.log(
    `SFT done: ${result.steps} steps in ${seconds.toFixed(0)} s; epoch losses ${result.epochLosses.map((loss) => loss.toFixed(3)).join(', ')}.`,
  );
  return { ...result, seconds };
}
