import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RewardFunction, Task, ToolCallProtocol, TrainerBackend } from '@arpo/core';
import { exportHuggingFaceModel, NativePolicy, trainByteLevelBpe } from '@arpo/policy';
import { loadServedPolicy } from '@arpo/server';
import { DecoderTransformer } from '@arpo/tensor';
import {
  LocalTrainerBackend,
  type RlAlgorithmSettings,
  runRlStep,
  TinkerTrainerBackend,
} from '@arpo/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/run-cli.js';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const packageDirectory = fileURLToPath(new URL('..', import.meta.url));

/** An exported model folder `model` (BPE tokenizer, 1-layer decoder, context 64) in a fresh directory. */
async function exportTinyModel(): Promise<{ directory: string; folder: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-serve-'));
  const tokenizer = trainByteLevelBpe({ corpus: ['one two three', 'four five six'], vocabularySize: 280 });
  const model = new DecoderTransformer({
    vocabSize: tokenizer.vocabularySize,
    contextLength: 64,
    modelDim: 32,
    layers: 1,
    heads: 2,
  });
  const folder = join(directory, 'model');
  await exportHuggingFaceModel({
    model,
    parameters: model.initializeParameters({ seed: 3 }),
    tokenizer,
    folder,
  });
  return { directory, folder };
}

/** `arpo serve` as a child process (from sources, through tsx), up once it prints its URL. */
async function spawnServe(directory: string, flags: string[]) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--conditions=@arpo/source',
      '--import',
      'tsx',
      cli,
      'serve',
      '--model',
      'model',
      '--port',
      '0',
      ...flags,
    ],
    // tsx resolves from the package; the command resolves --model and --trainer-dir from INIT_CWD (as under pnpm).
    {
      cwd: packageDirectory,
      env: { ...process.env, INIT_CWD: directory },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let attempt = 0; attempt < 2400 && !/at http:\/\/127/.test(output); attempt++) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const baseUrl = /at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(output)?.[1];
  if (baseUrl === undefined) {
    child.kill('SIGKILL');
    throw new Error(`arpo serve did not start:\n${output}`);
  }
  return { child, baseUrl, root: baseUrl.replace(/\/v1$/, ''), output: () => output, exited };
}

describe('arpo serve', () => {
  it('serves the OpenAI routes and, with --trainer, the training API over an exported model', async () => {
    const { directory } = await exportTinyModel();

    let out = '';
    let error = '';
    const exit = runCli(
      ['serve', '--model', 'model', '--port', '0', '--trainer', '--trainer-dir', 'trainer'],
      {
        out: (text) => (out += text),
        error: (text) => (error += text),
        cwd: directory,
      },
    );
    for (let attempt = 0; attempt < 600 && !out.includes('Serving'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(error).toBe('');
    const baseUrl = /at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out)?.[1];
    expect(baseUrl).toBeDefined();
    expect(out).toContain('training API at');
    const models = (await (await fetch(`${baseUrl}/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((entry) => entry.id)).toEqual(['model']);
    const completion = (await (
      await fetch(`${baseUrl}/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'model', prompt: 'one', max_tokens: 4, seed: 1 }),
      })
    ).json()) as { choices: { text: string }[] };
    expect(completion.choices).toHaveLength(1);
    const root = baseUrl?.replace(/\/v1$/, '');
    const capabilities = (await (await fetch(`${root}/api/v1/get_server_capabilities`)).json()) as {
      supported_models: { model_name: string }[];
    };
    // The training API offers the served model as the base model of `create_model`.
    expect(capabilities.supported_models).toEqual([{ model_name: 'model' }]);
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    expect(out).toContain('Served 1 generation requests');
  }, 120_000);
});

// The same tiny RL problem as the server package's training-parity test: reward = share of lower-case letters.
const noTools: ToolCallProtocol = { name: 'none', stopStrings: [], parse: () => [], formatResults: () => '' };
const lowerCaseReward: RewardFunction = {
  name: 'lower-case',
  compute: ({ responseText }) => {
    const letters = [...responseText].filter((character) => character >= 'a' && character <= 'z').length;
    return { total: responseText.length === 0 ? 0 : letters / responseText.length, components: {} };
  },
};
const tasks: Task[] = [0, 1, 2].map((index) => ({
  id: `t${index}`,
  prompt: [{ role: 'user', content: `one ${index}` }],
  references: [],
  tools: [],
}));
const algorithm: RlAlgorithmSettings = {
  name: 'grpo',
  sampler: { kind: 'independent', trajectoriesPerPrompt: 4 },
  estimator: 'grpo',
  loss: { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.28 },
  optimizer: { learningRate: 1e-2, maxGradientNorm: 1 },
  rollout: { maxResponseTokens: 8 },
  ppoEpochs: 2,
  miniBatches: 2,
};

async function trainSteps(backend: TrainerBackend, policy: NativePolicy | TinkerTrainerBackend['policy']) {
  const metrics: Record<string, number>[] = [];
  for (let step = 0; step < 2; step++) {
    const result = await runRlStep({
      step,
      seed: 2000 + step,
      backend,
      environment: { policy, tools: [], protocol: noTools, reward: lowerCaseReward },
      tasks,
      algorithm,
    });
    metrics.push(result.metrics);
  }
  return metrics;
}

describe('arpo serve as a child process', () => {
  let directory: string;
  let folder: string;
  let serve: Awaited<ReturnType<typeof spawnServe>>;
  // One child for both tests (starting one costs seconds of tsx compilation); the second test stops it. One
  // sequence per batch, so queued requests finish one after another, well after the drain test's signal.
  beforeAll(async () => {
    ({ directory, folder } = await exportTinyModel());
    serve = await spawnServe(directory, ['--trainer', '--trainer-dir', 'trainer', '--max-batch', '1']);
  }, 120_000);
  afterAll(async () => {
    if (serve !== undefined && serve.child.exitCode === null) {
      serve.child.kill('SIGKILL');
      await serve.exited;
    }
  });

  it('trains through TinkerTrainerBackend against `arpo serve --trainer` with the local backend metrics', async () => {
    // Local reference: the same folder loaded in-process, trained by LocalTrainerBackend.
    const loaded = await loadServedPolicy({ folder });
    await loaded.policy.close?.();
    const parts = loaded.parts as NonNullable<typeof loaded.parts>;
    const localPolicy = await NativePolicy.create({ ...parts, seed: 1 });
    const local = new LocalTrainerBackend({
      model: parts.model,
      parameters: parts.parameters,
      policy: localPolicy,
      directory: join(directory, 'local'),
    });
    const localMetrics = await trainSteps(local, localPolicy);
    await local.close();
    await localPolicy.close();

    const remote = await TinkerTrainerBackend.connect({
      baseUrl: serve.root,
      baseModel: 'model',
      tokenizer: parts.tokenizer,
      contextLength: 64,
      profile: 'arpo',
      heartbeatIntervalMs: 0,
    });
    const remoteMetrics = await trainSteps(remote, remote.policy);
    await remote.close();

    expect(remoteMetrics).toHaveLength(localMetrics.length);
    localMetrics.forEach((expected, step) => {
      const actual = remoteMetrics[step] as Record<string, number>;
      for (const [name, value] of Object.entries(expected)) {
        if (name.startsWith('time_')) continue;
        expect(actual, `step ${step}: metric ${name} missing`).toHaveProperty(name);
        expect(
          Math.abs((actual[name] as number) - value),
          `step ${step}: ${name} ${actual[name]} vs ${value}`,
        ).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(value)));
      }
    });
    // It really trained over HTTP: optimizer steps with non-zero gradients on real rollouts.
    expect(localMetrics.at(-1)?.optimizer_steps).toBeGreaterThan(0);
    expect(remoteMetrics.every((metrics) => (metrics.gradient_norm ?? 0) > 0)).toBe(true);
    expect(remoteMetrics.every((metrics) => metrics.trajectories === 12)).toBe(true);
  }, 240_000);

  it('drains on SIGINT: requests in flight when the signal arrives complete with 200, then it exits 0', async () => {
    const total = 12;
    const read = async () =>
      (await (await fetch(`${serve.root}/statistics`)).json()) as {
        requests: number;
        responses: Record<string, number>;
      };
    // The parity test's training API calls are in the child's response counts already: count from here.
    const before = await read();
    const arrivals: { status: number; at: number; tokens: number }[] = [];
    const requests = Array.from({ length: total }, (_, index) =>
      fetch(`${serve.baseUrl}/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'model', prompt: 'one two', max_tokens: 48, seed: index }),
      })
        .then(async (response) => {
          const body = (await response.json()) as { usage?: { completion_tokens?: number } };
          arrivals.push({
            status: response.status,
            at: performance.now(),
            tokens: body.usage?.completion_tokens ?? 0,
          });
        })
        .catch(() => arrivals.push({ status: -1, at: performance.now(), tokens: 0 })),
    );
    // Wait until the server has accepted every request and answered fewer than all of them.
    let statistics = before;
    for (let attempt = 0; attempt < 2000 && statistics.requests < before.requests + total; attempt++) {
      statistics = await read();
    }
    expect(statistics.requests - before.requests).toBe(total);
    expect((statistics.responses['200'] ?? 0) - (before.responses['200'] ?? 0)).toBeLessThan(total);
    const signalled = performance.now();
    serve.child.kill('SIGINT');
    await Promise.all(requests);
    expect(await serve.exited).toBe(0);
    expect(arrivals).toHaveLength(total);
    expect(arrivals.every((arrival) => arrival.status === 200 && arrival.tokens > 0)).toBe(true);
    // Some answers came after the signal: they were in flight (queued or decoding) when it arrived.
    expect(arrivals.filter((arrival) => arrival.at > signalled).length).toBeGreaterThan(0);
    expect(serve.output()).toContain('Shutting down: draining requests');
    const served = Number(/Served (\d+) generation requests/.exec(serve.output())?.[1]);
    expect(served).toBe(before.requests + total);
  }, 240_000);
});
