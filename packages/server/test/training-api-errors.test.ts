import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTrainingApiServer, type TrainingApiServer } from '../src/training/start-training-api-server.js';
import { toyBaseModel, toyModelFactory } from './support-training/toy-training-setup.js';

// Malformed requests to the training API get 4xx JSON errors ({detail}, as FastAPI/SkyRL send them) and the
// server keeps serving.

let server: TrainingApiServer;
let sessionId: string;
let modelId: string;
// A base model whose creation waits until the test lets it finish (so a poll deterministically times out).
let releaseGatedModel: () => void = () => undefined;
const gate = new Promise<void>((resolve) => {
  releaseGatedModel = resolve;
});

async function call(
  path: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${server.url}/api/v1/${path}`, {
    method: init.method ?? (init.body === undefined && init.raw === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.raw !== undefined
      ? { body: init.raw }
      : init.body !== undefined
        ? { body: JSON.stringify(init.body) }
        : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: JSON.parse(text) as Record<string, unknown>,
  };
}

async function result(requestId: unknown) {
  for (;;) {
    const answer = await call('retrieve_future', { body: { request_id: requestId } });
    if (answer.status !== 408) return answer;
  }
}

const datum = (tokens: number[], targets: number[]) => ({
  model_input: { chunks: [{ type: 'encoded_text', tokens }] },
  loss_fn_inputs: { target_tokens: { data: targets } },
});

beforeAll(async () => {
  server = await startTrainingApiServer({
    createModel: {
      [toyBaseModel]: toyModelFactory,
      gated: async (options) => {
        await gate;
        return toyModelFactory(options);
      },
    },
    directory: mkdtempSync(join(tmpdir(), 'arpo-training-errors-')),
    retrieveTimeoutMs: 50,
    maxBodyBytes: 200_000,
  });
  sessionId = String(
    (await call('create_session', { body: { tags: [], sdk_version: 'test' } })).body.session_id,
  );
  const created = await call('create_model', {
    body: { session_id: sessionId, base_model: toyBaseModel, lora_config: { rank: 8 } },
  });
  modelId = String(created.body.model_id);
  expect((await result(created.body.request_id)).status).toBe(200);
});

afterAll(async () => {
  await server?.close();
});

describe('training API request validation', () => {
  it('answers bad JSON, non-objects and schema errors with 422 and field locations', async () => {
    const badJson = await call('create_session', { raw: '{"tags": [' });
    expect(badJson.status).toBe(422);
    expect(badJson.type).toContain('application/json');
    expect((badJson.body.detail as { type: string }[])[0]?.type).toBe('json_invalid');

    const array = await call('create_session', { raw: '[1, 2]' });
    expect(array.status).toBe(422);

    const missing = await call('create_session', { body: { sdk_version: 'x' } });
    expect(missing.status).toBe(422);
    expect((missing.body.detail as { loc: string[] }[]).map((issue) => issue.loc.join('.'))).toContain(
      'body.tags',
    );

    const badTokens = await call('forward', {
      body: {
        model_id: modelId,
        forward_input: { loss_fn: 'cross_entropy', data: [datum([1, 2.5], [2, 3])] },
      },
    });
    expect(badTokens.status).toBe(422);
    expect(JSON.stringify(badTokens.body.detail)).toContain('element 1 is 2.5');

    const extraConfig = await call('forward_backward', {
      body: {
        model_id: modelId,
        forward_backward_input: {
          loss_fn: 'cross_entropy',
          loss_fn_config: { clip_low_threshold: 0.8 },
          data: [datum([1], [2])],
        },
      },
    });
    expect(extraConfig.status).toBe(422);
  });

  it('answers unknown routes, methods, models, futures and base models with 4xx', async () => {
    expect((await call('no_such_endpoint')).status).toBe(404);
    expect((await call('healthz', { method: 'POST', body: {} })).status).toBe(405);
    const unknownModel = await call('forward', {
      body: {
        model_id: 'model_ffffffff',
        forward_input: { loss_fn: 'cross_entropy', data: [datum([1], [2])] },
      },
    });
    expect(unknownModel.status).toBe(404);
    expect(unknownModel.body.detail).toContain('model_ffffffff');
    expect((await call('retrieve_future', { body: { request_id: '987654' } })).body).toEqual({
      detail: 'Future not found',
    });
    const unknownBase = await call('create_model', {
      body: { session_id: sessionId, base_model: 'Qwen/Qwen3-0.6B', lora_config: { rank: 8 } },
    });
    expect(unknownBase.status).toBe(400);
    expect(unknownBase.body.detail).toContain(toyBaseModel);
  });

  it('rejects semantic errors with 400: lengths, token ranges, losses, sampling parameters, oversized prompts', async () => {
    const misaligned = await call('forward', {
      body: {
        model_id: modelId,
        forward_input: { loss_fn: 'cross_entropy', data: [datum([1, 2, 3], [2, 3])] },
      },
    });
    expect(misaligned.status).toBe(400);
    expect(misaligned.body.detail).toContain('target_tokens has 2 entries');

    const outOfRange = await call('forward', {
      body: {
        model_id: modelId,
        forward_input: { loss_fn: 'cross_entropy', data: [datum([1, 99_999], [2, 3])] },
      },
    });
    expect(outOfRange.status).toBe(400);

    const tooLong = await call('forward', {
      body: {
        model_id: modelId,
        forward_input: {
          loss_fn: 'cross_entropy',
          data: [datum(new Array(40).fill(1), new Array(40).fill(1))],
        },
      },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.detail).toContain('context');

    const cispo = await call('forward_backward', {
      body: { model_id: modelId, forward_backward_input: { loss_fn: 'cispo', data: [datum([1], [2])] } },
    });
    expect(cispo.status).toBe(400);
    expect(cispo.body.detail).toContain('not supported');

    const saved = await call('save_weights_for_sampler', {
      body: { model_id: modelId, path: 'errors-sampler' },
    });
    expect((await result(saved.body.request_id)).status).toBe(200);
    const modelPath = `tinker://${modelId}/errors-sampler`;
    const prompt = { chunks: [{ type: 'encoded_text', tokens: [104, 105] }] };
    const noMaxTokens = await call('asample', {
      body: { model_path: modelPath, prompt, sampling_params: {} },
    });
    expect(noMaxTokens.status).toBe(400);
    expect(noMaxTokens.body.detail).toContain('max_tokens');
    const mixedStop = await call('asample', {
      body: { model_path: modelPath, prompt, sampling_params: { max_tokens: 4, stop: [1, 'x'] } },
    });
    expect(mixedStop.status).toBe(400);
    const bareStop = await call('asample', {
      body: { model_path: modelPath, prompt, sampling_params: { max_tokens: 4, stop: 'x' } },
    });
    expect(bareStop.status).toBe(422);
    const oversized = await call('asample', {
      body: {
        model_path: modelPath,
        prompt: { chunks: [{ tokens: new Array(64).fill(104) }] },
        sampling_params: { max_tokens: 4 },
      },
    });
    expect(oversized.status).toBe(400);
    expect(oversized.body.detail).toContain('context');
    const missingCheckpoint = await call('asample', {
      body: { model_path: `tinker://${modelId}/never-saved`, prompt, sampling_params: { max_tokens: 4 } },
    });
    expect(missingCheckpoint.status).toBe(404);
  });

  it('rejects protobuf and oversized bodies, and reused seq_ids with another payload', async () => {
    expect(
      (await call('create_session', { raw: 'x', headers: { 'content-type': 'application/x-protobuf' } }))
        .status,
    ).toBe(415);
    const huge = await call('create_session', {
      raw: JSON.stringify({ tags: new Array(100_000).fill('x'), sdk_version: 'x' }),
    });
    expect(huge.status).toBe(413);

    const request = {
      model_id: modelId,
      seq_id: 77,
      forward_input: { loss_fn: 'cross_entropy', data: [datum([1, 2], [2, 3])] },
    };
    const first = await call('forward', { body: request });
    const retry = await call('forward', { body: request });
    expect(retry.body.request_id).toBe(first.body.request_id);
    const reused = await call('forward', {
      body: { ...request, forward_input: { ...request.forward_input, data: [datum([5], [6])] } },
    });
    expect(reused.status).toBe(409);
    expect(reused.body.detail).toBe('Training request sequence number was reused');
  });

  it('answers 408 to a poll that outlasts the server timeout, then the result', async () => {
    const created = await call('create_model', {
      body: { session_id: sessionId, base_model: 'gated', lora_config: { rank: 8 } },
    });
    const first = await call('retrieve_future', { body: { request_id: created.body.request_id } });
    expect(first.status).toBe(408);
    expect(first.body).toEqual({ detail: 'Timeout waiting for result' });
    releaseGatedModel();
    const done = await result(created.body.request_id);
    expect(done.status).toBe(200);
    expect(done.body.model_id).toBe(created.body.model_id);
  });

  it('stays up: health, and a real forward pass still work after the bad requests', async () => {
    expect((await call('healthz')).body).toEqual({ status: 'ok' });
    const submitted = await call('forward', {
      body: {
        model_id: modelId,
        forward_input: { loss_fn: 'cross_entropy', data: [datum([104, 105, 106], [105, 106, 107])] },
      },
    });
    const answer = await result(submitted.body.request_id);
    expect(answer.status).toBe(200);
    const outputs = answer.body.loss_fn_outputs as { logprobs: { data: number[] } }[];
    expect(outputs[0]?.logprobs.data).toHaveLength(3);
    expect(outputs[0]?.logprobs.data.every((value) => value < 0)).toBe(true);
  });
});

describe('training API shutdown', () => {
  it('answers 503 to new requests while close() drains, and still answers healthz', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const closingServer = await startTrainingApiServer({
      createModel: {
        slow: async (options) => {
          await held;
          return toyModelFactory(options);
        },
      },
      directory: mkdtempSync(join(tmpdir(), 'arpo-training-close-')),
    });
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${closingServer.url}/api/v1/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    try {
      const session = await post('create_session', { tags: [], sdk_version: 'test' });
      const created = await post('create_model', {
        session_id: session.body.session_id,
        base_model: 'slow',
        lora_config: { rank: 8 },
      });
      expect(created.status).toBe(200);
      // The model is still being created: close() waits for it, and meanwhile refuses new work.
      let closed = false;
      const closing = closingServer.handler.close().then(() => {
        closed = true;
      });
      const refused = await post('create_session', { tags: [], sdk_version: 'test' });
      expect(refused).toEqual({ status: 503, body: { detail: 'Server is shutting down' } });
      const forward = await post('forward', { model_id: created.body.model_id, forward_input: {} });
      expect(forward.status).toBe(503);
      const health = await fetch(`${closingServer.url}/api/v1/healthz`);
      expect(health.status).toBe(200);
      expect(closed).toBe(false);
      release();
      await closing;
      expect(closed).toBe(true);
    } finally {
      release();
      await closingServer.close();
    }
  });
});
