import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAlgorithmPreset } from '@arpo/advantage';
import { parse, rolloutTreeSchema, trajectoryPaths } from '@arpo/core';
import { NativePolicy, trainByteLevelBpe } from '@arpo/policy';
import { promptFromTask, sampleArpo } from '@arpo/rollout';
import { createArpoTagProtocol, createPythonTool, type PythonTool } from '@arpo/sandbox';
import {
  createArpoReward,
  demonstrationText,
  generateArithmeticTasks,
  generateDemonstrations,
} from '@arpo/tasks';
import { DecoderTransformer } from '@arpo/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demonstrationToSequence } from '../src/data/sequence-datum.js';
import { LocalTrainerBackend } from '../src/engine/local-trainer-backend.js';
import { runRlStep } from '../src/loops/rl-step.js';
import { runSft } from '../src/loops/sft.js';

// The real pieces end to end: Pyodide tool, BPE tokenizer, native ONNX policy, local trainer. A short SFT teaches
// the tiny model the tag format so rollouts actually call the tool.
describe('end to end on the real runtime', () => {
  let python: PythonTool;
  let backend: LocalTrainerBackend;
  let policy: NativePolicy;
  const protocol = createArpoTagProtocol();
  const train = generateArithmeticTasks({ seed: 5, count: 64, split: 'train', systemPrompt: null });

  beforeAll(async () => {
    python = createPythonTool({ pool: { size: 2 } });
    await python.pool.ready();
    const run = async (code: string) => {
      const result = await python.execute(code);
      return result.ok ? result.output : result.error.message;
    };
    const demonstrations = await generateDemonstrations(train, {
      seed: 5,
      imperfectShare: 0.3,
      tools: { python: run },
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
    const model = new DecoderTransformer({
      vocabSize: tokenizer.vocabularySize,
      contextLength: 320,
      modelDim: 48,
      layers: 1,
      heads: 4,
    });
    const parameters = model.initializeParameters({ seed: 5 });
    policy = await NativePolicy.create({ model, parameters, tokenizer, seed: 5 });
    backend = new LocalTrainerBackend({
      model,
      parameters,
      policy,
      directory: mkdtempSync(join(tmpdir(), 'arpo-e2e-')),
    });
    const sequences = demonstrations.map((demonstration) =>
      demonstrationToSequence(
        { prompt: tokenizer.applyChatTemplate!(demonstration.task.prompt), turns: demonstration.turns },
        tokenizer,
      ),
    );
    await runSft({
      backend,
      sequences,
      epochs: 6,
      batchSize: 16,
      learningRate: 1e-2,
      seed: 5,
      maxGradientNorm: 1,
    });
  }, 120_000);

  afterAll(async () => {
    await backend?.close();
    await policy?.close();
    await python?.close();
  });

  it('runs the ARPO sampler with the native policy and the Pyodide tool', async () => {
    const prompts = train.slice(0, 2).map((task) => promptFromTask(task, policy.tokenizer));
    const before = policy.statistics();
    const groups = await sampleArpo({
      environment: { policy, tools: [python], protocol },
      prompts,
      settings: { seed: 3, maxResponseTokens: 160 },
      arpo: { trajectories: 6, initial: 3, alpha: 1, beta: 0 },
    });
    const after = policy.statistics();
    for (const group of groups) {
      expect(group.trajectories).toHaveLength(6);
      parse(rolloutTreeSchema, group.tree);
      expect(group.statistics.toolCalls).toBeGreaterThan(0);
      // Branches share their parents' prefixes: not every trajectory's calls were executed.
      const callsInTrajectories = group.trajectories.reduce(
        (sum, trajectory) => sum + (trajectory.metrics.toolCalls ?? 0),
        0,
      );
      expect(callsInTrajectories).toBeGreaterThan(group.statistics.toolCalls);
      const paths = trajectoryPaths(group.tree, group.trajectories.length);
      expect(paths.some((path) => path.length > 2)).toBe(true);
      for (const trajectory of group.trajectories) {
        // A result cut by the length limit (last segment of a 'length' trajectory) has no closing tag.
        const toolSegments = trajectory.segments.filter(
          (segment, index) =>
            segment.kind === 'tool' &&
            !(trajectory.finishReason === 'length' && index === trajectory.segments.length - 1),
        );
        for (const segment of toolSegments) {
          expect(
            Array.from(trajectory.lossMask.subarray(segment.start, segment.end)).every(
              (value) => value === 0,
            ),
          ).toBe(true);
          const text = policy.tokenizer.decode(
            trajectory.responseTokenIds.subarray(segment.start, segment.end),
          );
          expect(text).toMatch(/^ <result>\n[\s\S]*\n<\/result>$/);
        }
      }
    }
    const ran = groups.flatMap((group) =>
      group.trajectories.flatMap((trajectory) =>
        trajectory.segments.flatMap((segment) => (segment.kind === 'tool' ? segment.calls : [])),
      ),
    );
    // Pyodide really computed something: at least one call printed a number.
    expect(ran.some((call) => call.error === undefined && /^-?\d+\s*$/.test(call.output))).toBe(true);
    expect(after.reusedTokens - before.reusedTokens).toBeGreaterThan(0);

    // Once more with the default alpha = 0.5, beta = 0.2, so branching depends on the measured entropies. Every
    // turn's top-10 logprobs are recorded on the way (through a proxy) to recompute the reference entropy here:
    // over the first k = 20 positions, -sum p log p of the top 10, summed, over ln|V|.
    const measured: number[] = [];
    const ln = Math.log(policy.vocabularySize);
    const measuring = new Proxy(policy, {
      get(target, key) {
        if (key === 'generate') {
          return async (...parameters: Parameters<typeof target.generate>) => {
            const results = await target.generate(...parameters);
            for (const sequence of results.flatMap((result) => result.sequences)) {
              expect(sequence.topLogprobs).toHaveLength(sequence.tokenIds.length);
              let total = 0;
              for (const top of sequence.topLogprobs!.slice(0, 20)) {
                expect(top.logprobs).toHaveLength(10);
                for (const logprob of top.logprobs) total -= Math.exp(logprob) * logprob;
              }
              measured.push(total / ln);
            }
            return results;
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const defaults = await sampleArpo({
      environment: { policy: measuring, tools: [python], protocol },
      prompts,
      settings: { seed: 4, maxResponseTokens: 160 },
      arpo: { trajectories: 4, initial: 2 },
    });
    const forks = defaults.flatMap((group) => group.tree.nodes.flatMap((node) => node.fork ?? []));
    expect(forks.length).toBeGreaterThan(0);
    for (const fork of forks) {
      expect(Number.isFinite(fork.entropy) && Number.isFinite(fork.entropyDelta)).toBe(true);
      // Top-10 entropy is at most ln 10 per position.
      expect(fork.entropy).toBeGreaterThan(0);
      expect(fork.entropy).toBeLessThanOrEqual((20 * Math.log(10)) / ln + 1e-6);
      expect(measured.some((entropy) => Math.abs(entropy - fork.entropy) < 1e-6)).toBe(true);
      expect(fork.probability).toBeCloseTo(Math.min(1, Math.max(0, 0.5 + 0.2 * fork.entropyDelta)), 9);
    }
    // A fork at a later call compares that turn with the first one: a real, non-zero entropy change.
    expect(forks.some((fork) => fork.entropyDelta !== 0)).toBe(true);
    for (const group of defaults) {
      expect(group.trajectories.length).toBeLessThanOrEqual(4);
      parse(rolloutTreeSchema, group.tree);
    }
  }, 60_000);

  it('runs two real RL steps end to end', async () => {
    const preset = getAlgorithmPreset('arpo');
    const reward = createArpoReward();
    const weightsBefore = Float32Array.from(backend.parameters.get('embed.weight')!.data as Float32Array);
    for (let step = 0; step < 2; step++) {
      const result = await runRlStep({
        step,
        seed: 100 + step,
        backend,
        environment: { policy, tools: [python], protocol, reward },
        tasks: train.slice(8 + step * 2, 10 + step * 2),
        algorithm: {
          name: 'arpo',
          sampler: { kind: 'arpo', arpo: { trajectories: 4, initial: 2 } },
          estimator: preset.estimator,
          loss: preset.loss,
          optimizer: { learningRate: 1e-3, maxGradientNorm: 1 },
          rollout: { maxResponseTokens: 160 },
        },
      });
      expect(result.metrics.trajectories).toBe(8);
      expect(Number.isFinite(result.metrics.loss)).toBe(true);
      expect(Number.isFinite(result.metrics.gradient_norm)).toBe(true);
      expect(result.metrics.tool_calls_executed).toBeGreaterThan(0);
      expect(result.metrics.time_rollout_ms).toBeGreaterThan(0);
    }
    const weightsAfter = backend.parameters.get('embed.weight')!.data as Float32Array;
    expect(weightsAfter.some((value, index) => value !== weightsBefore[index])).toBe(true);
  }, 90_000);
});
