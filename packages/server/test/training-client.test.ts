import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError, type GenerationRequest } from '@arpo/core';
import { NativePolicy } from '@arpo/policy';
import {
  RemoteTrainingError,
  sequenceToDatum,
  TinkerTrainerBackend,
  type TinkerTrainerBackendOptions,
  UnsupportedRemoteFeatureError,
} from '@arpo/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTrainingApiServer, type TrainingApiServer } from '../src/training/start-training-api-server.js';
import { FlakyProxy } from './support-training/flaky-proxy.js';
import { toyBaseModel, toyModelFactory, toyModelParts } from './support-training/toy-training-setup.js';

let server: TrainingApiServer;
const { tokenizer } = toyModelParts();

function options(
  baseUrl: string,
  extra: Partial<TinkerTrainerBackendOptions> = {},
): TinkerTrainerBackendOptions {
  return {
    baseUrl,
    baseModel: toyBaseModel,
    tokenizer,
    contextLength: 32,
    profile: 'arpo',
    heartbeatIntervalMs: 0,
    retryDelayMs: 5,
    ...extra,
  };
}

const datum = sequenceToDatum({
  promptTokenIds: tokenizer.encode('go 1'),
  responseTokenIds: tokenizer.encode('abc'),
  lossMask: [1, 1, 1],
  logprobs: [-5, -5, -5],
  advantages: [1, 1, 1],
});

beforeAll(async () => {
  server = await startTrainingApiServer({
    createModel: { [toyBaseModel]: toyModelFactory },
    directory: mkdtempSync(join(tmpdir(), 'arpo-training-client-')),
  });
});

afterAll(async () => {
  await server?.close();
});

describe('TinkerSamplingPolicy', () => {
  it('samples exactly what the in-process policy samples: stop strings, n, seeds, entropies, top logprobs', async () => {
    const backend = await TinkerTrainerBackend.connect(options(server.url));
    const { model, parameters } = toyModelParts();
    const local = await NativePolicy.create({ model, parameters, tokenizer, seed: 1 });
    // A stop string the model will produce: a character from the middle of an unstopped sample.
    const probe = await local.generate([
      { promptTokenIds: tokenizer.encode('go 1'), sampling: { maxTokens: 12, seed: 7 }, n: 3 },
    ]);
    const stop = [...probe[0]!.sequences[0]!.text]
      .slice(3)
      .find((character) => character.trim() !== '' && character !== '\uFFFD');
    expect(stop).toBeDefined();
    const requests: GenerationRequest[] = [
      {
        promptTokenIds: tokenizer.encode('go 1'),
        sampling: { maxTokens: 12, seed: 7, stop: [stop!, '\u0000zz'] },
        n: 3,
      },
      {
        promptTokenIds: tokenizer.encode('go 2'),
        sampling: { maxTokens: 20, seed: 8, temperature: 0.7, topLogprobs: 3 },
      },
      {
        promptTokenIds: tokenizer.encode('go 3'),
        sampling: { maxTokens: 6, seed: 9, topK: 5, topP: 0.9 },
        n: 2,
      },
    ];
    const expected = await local.generate(requests);
    const actual = await backend.policy.generate(requests);
    expect(backend.policy.capabilities.entropy).toBe('exact');
    actual.forEach((result, index) => {
      const reference = expected[index]!;
      expect(result.sequences).toHaveLength(reference.sequences.length);
      result.sequences.forEach((sequence, position) => {
        const want = reference.sequences[position]!;
        expect(Array.from(sequence.tokenIds)).toEqual(Array.from(want.tokenIds));
        expect(sequence.text).toBe(want.text);
        expect(sequence.finishReason).toBe(want.finishReason);
        expect(sequence.stopString).toBe(want.stopString);
        expect(Array.from(sequence.logprobs)).toEqual(Array.from(want.logprobs));
        expect(Array.from(sequence.entropies)).toEqual(Array.from(want.entropies));
        if (want.topLogprobs !== undefined) {
          expect(sequence.topLogprobs?.map((top) => Array.from(top.tokenIds))).toEqual(
            want.topLogprobs.map((top) => Array.from(top.tokenIds)),
          );
        }
      });
    });
    // The stop string fired somewhere (the comparison above covered the cut).
    expect(actual[0]!.sequences.some((sequence) => sequence.stopString === stop)).toBe(true);
    await local.close();
    await backend.close();
  }, 60_000);

  it('rejects an aborted request with AbortedError', async () => {
    const backend = await TinkerTrainerBackend.connect(options(server.url));
    const controller = new AbortController();
    controller.abort();
    await expect(
      backend.policy.generate([{ promptTokenIds: [104], sampling: { maxTokens: 4 } }], {
        signal: controller.signal,
      }),
    ).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    await backend.close();
  });
});

describe('TinkerTrainerBackend', () => {
  it('saves a training checkpoint and resumes it into a fresh model with the same weights', async () => {
    const backend = await TinkerTrainerBackend.connect(options(server.url));
    await backend.forwardBackward([datum], { lossFunction: 'importance_sampling' });
    await backend.optimStep({ learningRate: 1e-2 });
    const { path } = await backend.saveState('after-one-step');
    expect(path).toBe(`tinker://${backend.modelId}/weights/after-one-step`);
    const saved = (await backend.forward([datum])).logprobs[0]!;
    await backend.forwardBackward([datum], { lossFunction: 'importance_sampling' });
    await backend.optimStep({ learningRate: 1e-2 });
    const moved = (await backend.forward([datum])).logprobs[0]!;
    expect(Array.from(moved)).not.toEqual(Array.from(saved));
    const before = backend.modelId;
    await backend.loadState(path);
    expect(backend.modelId).not.toBe(before);
    expect(Array.from((await backend.forward([datum])).logprobs[0]!)).toEqual(Array.from(saved));
    // Sampling follows the loaded weights too.
    const sampled = await backend.sample([
      { promptTokenIds: [104, 105], sampling: { maxTokens: 3, seed: 1 } },
    ]);
    expect(sampled[0]!.sequences[0]!.tokenIds.length).toBeGreaterThan(0);
    await backend.close();
  }, 60_000);

  it('retries through 503, 429 and lost answers; seq_id dedup applies a retried forward_backward once', async () => {
    const proxy = new FlakyProxy(server.url);
    await proxy.start();
    proxy.inject('create_session', 'status-503');
    proxy.inject('forward_backward', 'reset-after-forward');
    proxy.inject('retrieve_future', 'reset-before', 'status-429');
    proxy.inject('optim_step', 'reset-before');
    const backend = await TinkerTrainerBackend.connect(options(proxy.url));
    await backend.forwardBackward([datum], { lossFunction: 'importance_sampling' });
    const { metrics } = await backend.optimStep({ learningRate: 1e-2 });
    // The first forward_backward reached the server, its answer was lost, the retry got the same future.
    expect(proxy.forwarded.get('forward_backward')).toBe(2);
    expect(metrics.accumulated_batches).toBe(1);
    expect(metrics.gradient_norm).toBeGreaterThan(0);
    await backend.close();
    await proxy.close();
  }, 60_000);

  it('keeps the session alive with heartbeats while open and stops them on close', async () => {
    const proxy = new FlakyProxy(server.url);
    await proxy.start();
    const backend = await TinkerTrainerBackend.connect(options(proxy.url, { heartbeatIntervalMs: 20 }));
    for (let waited = 0; waited < 5_000 && (proxy.forwarded.get('session_heartbeat') ?? 0) < 3; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(proxy.forwarded.get('session_heartbeat') ?? 0).toBeGreaterThanOrEqual(3);
    // The server knew the session: every heartbeat was answered 200 (an unknown session gets 404).
    expect(proxy.statuses.get('session_heartbeat')?.every((status) => status === 200)).toBe(true);
    await backend.close();
    // A heartbeat already on its way at close() may still land; after that, none (5 periods later).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const afterClose = proxy.forwarded.get('session_heartbeat') ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(proxy.forwarded.get('session_heartbeat') ?? 0).toBe(afterClose);
    await proxy.close();
  }, 60_000);

  it('fails with typed errors: unknown base model (400, not retryable) and settings the API cannot express', async () => {
    const failure = await TinkerTrainerBackend.connect(
      options(server.url, { baseModel: 'no/such-model' }),
    ).catch((error: unknown) => error);
    expect(RemoteTrainingError.isInstance(failure)).toBe(true);
    expect((failure as RemoteTrainingError).status).toBe(400);
    expect((failure as RemoteTrainingError).isRetryable).toBe(false);

    const backend = await TinkerTrainerBackend.connect(options(server.url, { lossMode: 'native' }));
    await expect(
      backend.forwardBackward([datum], { lossFunction: 'ppo', entropyCoefficient: 0.01 }),
    ).rejects.toSatisfy(
      (error) =>
        UnsupportedRemoteFeatureError.isInstance(error) && error.feature === 'loss.entropyCoefficient',
    );
    await expect(backend.forwardBackward([datum], { lossFunction: 'ppo', dualClip: 3 })).rejects.toSatisfy(
      (error) => UnsupportedRemoteFeatureError.isInstance(error) && /dual-clip/.test(error.message),
    );
    await backend.close();

    const jax = await TinkerTrainerBackend.connect(options(server.url, { profile: 'skyrl-jax' }));
    await expect(jax.optimStep({ learningRate: 1e-3, maxGradientNorm: 1 })).rejects.toSatisfy(
      (error) =>
        UnsupportedRemoteFeatureError.isInstance(error) && error.feature === 'optimizer.maxGradientNorm',
    );
    await jax.close();
  }, 60_000);
});
