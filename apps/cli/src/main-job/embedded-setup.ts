import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EventSink, InvalidArgumentError, type Task, type Tool } from '@arpo/core';
import { type ByteLevelBpeTokenizer, NativePolicy, trainByteLevelBpe } from '@arpo/policy';
import {
  type ArpoTagProtocol,
  createArpoTagProtocol,
  createBm25SearchBackend,
  createPythonTool,
  createSearchTool,
  type PythonTool,
} from '@arpo/sandbox';
import {
  createArpoReward,
  type Demonstration,
  demonstrationText,
  generateArithmeticTasks,
  generateDemonstrations,
  generateKnowledgeBase,
  generateMultiHopTasks,
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
import type { RunConfig } from '../run-config/run-config.js';

/** Everything the CLI commands (and the benchmarks built on them) train and evaluate. */
export interface EmbeddedSetup {
  config: RunConfig;
  python: PythonTool;
  tools: Tool[];
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
 * Builds the embedded default from a run config: the Pyodide Python tool (2 workers), the built-in tasks without
 * a system prompt (the small model learns the tag format from demonstrations and needs its context for the
 * answer), BM25 search over a generated knowledge base when multi-hop tasks are on, teacher demonstrations run
 * through the real tools, a byte-level tokenizer (tool tags as single tokens, no merges: digits stay single
 * tokens, which makes copying numbers learnable for a tiny model) and a small decoder transformer. Everything is
 * a pure function of the config, so `arpo train` and `arpo eval` rebuild exactly what `arpo sft` trained on.
 *
 * `checkpoints` is where the trainer backend saves states (default `<directory>/checkpoints`).
 */
export async function createEmbeddedSetup(options: {
  config: RunConfig;
  directory: string;
  checkpoints?: string;
  log: (line: string) => void;
}): Promise<EmbeddedSetup> {
  const { config, log } = options;
  const { seed } = config;
  log('Starting the Python sandbox (Pyodide, 2 workers)...');
  const python = createPythonTool({ pool: { size: 2 } });
  try {
    await python.pool.ready();
    const protocol = createArpoTagProtocol();
    const tools: Tool[] = [python];
    const runPython = async (code: string) => {
      const result = await python.execute(code, { timeoutMs: 10_000 });
      return result.ok ? result.output : `Error: ${result.error.message}`;
    };
    const { arithmetic, multiHop } = config.tasks;
    const train = generateArithmeticTasks({
      seed,
      count: arithmetic.train,
      split: 'train',
      testCount: arithmetic.test,
      systemPrompt: null,
    });
    const test = generateArithmeticTasks({ seed, count: arithmetic.test, split: 'test', systemPrompt: null });
    let runSearch: ((query: string) => Promise<string>) | undefined;
    if (multiHop.train + multiHop.test > 0) {
      const people = Math.max(400, Math.ceil(((multiHop.train + multiHop.test) * 4) / 3) + 4);
      const knowledgeBase = generateKnowledgeBase({ seed, people });
      // One hit per search keeps tool results short enough for a small context.
      const search = createSearchTool({
        backend: createBm25SearchBackend({
          documents: knowledgeBase.documents,
          snippet: (document) => document.text,
        }),
        topK: 1,
      });
      tools.push(search);
      runSearch = async (query: string) => {
        const result = await search.execute(query, { timeoutMs: 10_000 });
        return result.ok ? result.output : `Error: ${result.error.message}`;
      };
      const testShare = Math.floor(knowledgeBase.people.length / 4);
      if (multiHop.test > testShare) {
        throw new InvalidArgumentError({
          argument: 'tasks.multiHop.test',
          message: `at most ${testShare} test questions fit this knowledge base, got ${multiHop.test}`,
        });
      }
      train.push(
        ...generateMultiHopTasks({
          seed,
          count: multiHop.train,
          split: 'train',
          systemPrompt: null,
          knowledgeBase,
        }),
      );
      test.push(
        ...generateMultiHopTasks({
          seed,
          count: multiHop.test,
          split: 'test',
          systemPrompt: null,
          knowledgeBase,
        }),
      );
    }
    if (train.length === 0 || test.length === 0) {
      throw new InvalidArgumentError({
        argument: 'tasks',
        message: `need at least one train and one test task, got ${train.length} train and ${test.length} test`,
      });
    }
    log(
      `Tasks: ${train.length} train, ${test.length} test (arithmetic with Python${runSearch ? ', multi-hop questions with search' : ''}).`,
    );
    const demonstrations = await generateDemonstrations(train, {
      seed,
      imperfectShare: config.tasks.imperfectShare,
      tools: { python: runPython, ...(runSearch ? { search: runSearch } : {}) },
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
    log(`Tokenizer: byte-level, ${tokenizer.vocabularySize} tokens (tool tags are single tokens).`);
    const model = new DecoderTransformer({ vocabSize: tokenizer.vocabularySize, ...config.model });
    const parameters = model.initializeParameters({ seed });
    const policy = await NativePolicy.create({ model, parameters, tokenizer, seed });
    const backend = new LocalTrainerBackend({
      model,
      parameters,
      policy,
      directory: options.checkpoints ?? join(options.directory, 'checkpoints'),
    });
    log(
      `Model: decoder transformer, ${config.model.layers} layers, d_model ${config.model.modelDim}, ${model.parameterCount().toLocaleString('en-US')} parameters.`,
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
      config,
      python,
      tools,
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
      environment: { policy, tools, protocol, reward: createArpoReward() },
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

/** Saves the tokenizer into `folder`. */
export async function saveTokenizer(setup: EmbeddedSetup, folder: string): Promise<void> {
  await setup.tokenizer.save(folder);
}

/**
 * Checks that the tokenizer rebuilt from the config is the one saved in `folder` (same config and version), so
 * weights trained elsewhere are never paired with a different vocabulary.
 */
export async function checkSavedTokenizer(setup: EmbeddedSetup, folder: string): Promise<void> {
  const path = join(folder, 'tokenizer.json');
  let saved: string;
  try {
    saved = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError({
      argument: '--from',
      message: `${path} is missing: not a run directory written by 'arpo sft' or 'arpo demo'`,
      cause: error,
    });
  }
  const rebuilt = `${JSON.stringify(setup.tokenizer.toTokenizerJson(), null, 1)}\n`;
  if (saved !== rebuilt) {
    throw new InvalidArgumentError({
      argument: '--from',
      message: `${path} differs from the tokenizer this config builds: the run used another config or version`,
    });
  }
}

/** The SFT cold start: warmup + cosine schedule, gradient clipping at 1. */
export async function runSftPhase(
  setup: EmbeddedSetup,
  options: { events?: EventSink; log: (line: string) => void },
): Promise<SftResult & { seconds: number }> {
  const started = performance.now();
  const { sft, seed } = setup.config;
  const totalSteps = Math.ceil(setup.sequences.length / sft.batchSize) * sft.epochs;
  const result = await runSft({
    backend: setup.backend,
    sequences: setup.sequences,
    epochs: sft.epochs,
    batchSize: sft.batchSize,
    learningRate: {
      kind: 'warmup-cosine',
      peakLearningRate: sft.peakLearningRate,
      warmupSteps: Math.min(sft.warmupSteps, totalSteps),
      totalSteps,
      minLearningRate: sft.minLearningRate,
    },
    maxGradientNorm: 1,
    seed,
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
