import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LazySchema, parse, ValidationError } from '@arpo/core';
import {
  tinkerCreateModelRequestSchema,
  tinkerCreateSamplingSessionRequestSchema,
  tinkerCreateSessionRequestSchema,
  tinkerForwardBackwardRequestSchema,
  tinkerForwardRequestSchema,
  tinkerLoadWeightsRequestSchema,
  tinkerModelRequestSchema,
  tinkerOptimStepRequestSchema,
  tinkerRetrieveFutureRequestSchema,
  tinkerSampleRequestSchema,
  tinkerSaveWeightsForSamplerRequestSchema,
  tinkerSaveWeightsRequestSchema,
  tinkerSessionRequestSchema,
  tinkerWeightsInfoRequestSchema,
} from '@arpo/trainer';
import { TrainingApiError } from './training-api-error.js';
import { TrainingEngine, type TrainingEngineOptions } from './training-engine.js';

export interface TrainingApiHandlerOptions extends TrainingEngineOptions {
  /** Largest accepted request body. Default 64 MiB. */
  maxBodyBytes?: number;
}

/** Handles `/api/v1/*` (true) and leaves every other path to the caller (false). */
export type TrainingApiHandler = ((
  request: IncomingMessage,
  response: ServerResponse,
) => Promise<boolean>) & {
  readonly engine: TrainingEngine;
  /** Answers new requests (except `healthz`) with 503 from now on, lets queued work finish, unloads every model. */
  close(): Promise<void>;
};

type Json = Record<string, unknown>;

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readBody(request: IncomingMessage, limit: number): Promise<unknown> {
  const type = request.headers['content-type'] ?? 'application/json';
  if (type.includes('protobuf')) {
    throw new TrainingApiError({ status: 415, detail: 'This server accepts application/json bodies only' });
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) {
    throw new TrainingApiError({ status: 413, detail: `Request body of ${declared} bytes exceeds ${limit}` });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit)
      throw new TrainingApiError({ status: 413, detail: `Request body exceeds ${limit} bytes` });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TrainingApiError({
      status: 422,
      detail: [
        { type: 'json_invalid', loc: ['body', 0], msg: `JSON decode error: ${(error as Error).message}` },
      ],
    });
  }
}

/** Validates a body like FastAPI does: 422 with one entry per offending field. */
function validated<T>(schema: LazySchema<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new TrainingApiError({
      status: 422,
      detail: [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a JSON object' }],
    });
  }
  try {
    return parse(schema, body);
  } catch (error) {
    if (!ValidationError.isInstance(error)) throw error;
    throw new TrainingApiError({
      status: 422,
      detail: error.issues.map((issue) => ({
        type: 'value_error',
        loc: ['body', ...issue.path],
        msg: issue.message,
      })),
      cause: error,
    });
  }
}

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  run: (context: {
    body: () => Promise<unknown>;
    match: RegExpExecArray;
    url: URL;
    signal: AbortSignal;
  }) => Promise<Json> | Json;
}

/**
 * The Tinker training API (SkyRL's `/api/v1/*` endpoints, JSON only) over the local engine: models built by
 * `createModel` factories on @arpo/tensor, trained by LocalTrainerBackend, sampled by NativePolicy. Every
 * state-changing request answers at once with a future (`request_id`); `retrieve_future` long-polls it.
 * Malformed requests get 4xx JSON `{detail}` errors as FastAPI sends them (422 for schema errors, 400 for
 * semantic ones, 404 unknown ids, 409 conflicts, 413/415 bodies); the server stays up.
 */
export function createTrainingApiHandler(options: TrainingApiHandlerOptions): TrainingApiHandler {
  const engine = new TrainingEngine(options);
  let closing = false;
  const limit = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const post = (pattern: RegExp, run: Route['run']): Route => ({ method: 'POST', pattern, run });
  const get = (pattern: RegExp, run: Route['run']): Route => ({ method: 'GET', pattern, run });
  const routes: Route[] = [
    get(/^healthz$/, () => ({ status: 'ok' })),
    post(/^client\/config$/, () => ({ pjwt_auth_enabled: false })),
    get(/^get_server_capabilities$/, () => engine.capabilities()),
    post(/^create_session$/, async ({ body }) => {
      validated(tinkerCreateSessionRequestSchema, await body());
      return engine.createSession();
    }),
    post(/^session_heartbeat$/, async ({ body }) =>
      engine.heartbeat(validated(tinkerSessionRequestSchema, await body()).session_id),
    ),
    post(/^telemetry$/, async ({ body }) => {
      await body();
      return { status: 'accepted' };
    }),
    post(/^create_model$/, async ({ body }) =>
      engine.createModel(validated(tinkerCreateModelRequestSchema, await body())),
    ),
    post(/^get_info$/, async ({ body }) =>
      engine.getInfo(validated(tinkerModelRequestSchema, await body()).model_id),
    ),
    post(/^unload_model$/, async ({ body }) =>
      engine.unloadModel(validated(tinkerModelRequestSchema, await body()).model_id),
    ),
    post(/^forward_backward$/, async ({ body }) =>
      engine.forwardBackward(validated(tinkerForwardBackwardRequestSchema, await body())),
    ),
    post(/^forward$/, async ({ body }) =>
      engine.forwardBackward(validated(tinkerForwardRequestSchema, await body())),
    ),
    post(/^optim_step$/, async ({ body }) =>
      engine.optimStep(validated(tinkerOptimStepRequestSchema, await body())),
    ),
    post(/^save_weights_for_sampler$/, async ({ body }) =>
      engine.saveWeightsForSampler(validated(tinkerSaveWeightsForSamplerRequestSchema, await body())),
    ),
    post(/^create_sampling_session$/, async ({ body }) =>
      engine.createSamplingSession(validated(tinkerCreateSamplingSessionRequestSchema, await body())),
    ),
    get(/^samplers\/([^/]+)$/, ({ match }) => engine.getSampler(decodeURIComponent(match[1] as string))),
    post(/^asample$/, async ({ body }) => engine.sample(validated(tinkerSampleRequestSchema, await body()))),
    post(/^save_weights$/, async ({ body }) =>
      engine.saveWeights(validated(tinkerSaveWeightsRequestSchema, await body())),
    ),
    post(/^load_weights$/, async ({ body }) =>
      engine.loadWeights(validated(tinkerLoadWeightsRequestSchema, await body())),
    ),
    post(/^weights_info$/, async ({ body }) =>
      engine.weightsInfo(validated(tinkerWeightsInfoRequestSchema, await body()).tinker_path),
    ),
    get(/^training_runs$/, ({ url }) => {
      const limitParameter = Number(url.searchParams.get('limit') ?? 20);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      if (
        !Number.isInteger(limitParameter) ||
        limitParameter < 1 ||
        !Number.isInteger(offset) ||
        offset < 0
      ) {
        throw new TrainingApiError({
          status: 422,
          detail: [{ type: 'int_parsing', loc: ['query'], msg: 'limit ≥ 1 and offset ≥ 0 must be integers' }],
        });
      }
      return engine.trainingRuns(limitParameter, offset);
    }),
    get(/^training_runs\/([^/]+)$/, ({ match }) =>
      engine.trainingRunInfo(decodeURIComponent(match[1] as string)),
    ),
    get(/^(?:training_runs|models)\/([^/]+)\/checkpoints$/, ({ match }) =>
      engine.checkpoints(decodeURIComponent(match[1] as string)),
    ),
    post(/^retrieve_future$/, async ({ body, signal }) => {
      const { request_id: requestId } = validated(tinkerRetrieveFutureRequestSchema, await body());
      const outcome = await engine.futures.wait(requestId, engine.retrieveTimeoutMs, signal);
      if (outcome === undefined) throw new TrainingApiError({ status: 404, detail: 'Future not found' });
      if (outcome.state === 'pending') {
        throw new TrainingApiError({ status: 408, detail: 'Timeout waiting for result' });
      }
      if (outcome.state === 'failed') throw new TrainingApiError({ status: 400, detail: outcome.message });
      return outcome.result as Json;
    }),
  ];

  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/api/v1/')) return false;
    const path = url.pathname.slice('/api/v1/'.length).replace(/\/+$/, '');
    const disconnected = new AbortController();
    response.on('close', () => disconnected.abort());
    try {
      // A request accepted during close() would train or sample a model that is being unloaded.
      if (closing && path !== 'healthz') {
        request.resume();
        throw new TrainingApiError({ status: 503, detail: 'Server is shutting down' });
      }
      const candidates = routes
        .map((route) => ({ route, match: route.pattern.exec(path) }))
        .filter((entry): entry is { route: Route; match: RegExpExecArray } => entry.match !== null);
      const chosen = candidates.find((entry) => entry.route.method === request.method);
      if (chosen === undefined) {
        request.resume();
        throw new TrainingApiError(
          candidates.length > 0
            ? { status: 405, detail: 'Method Not Allowed' }
            : { status: 404, detail: 'Not Found' },
        );
      }
      let cached: Promise<unknown> | undefined;
      const result = await chosen.route.run({
        body: () => {
          cached ??= readBody(request, limit);
          return cached;
        },
        match: chosen.match,
        url,
        signal: disconnected.signal,
      });
      sendJson(response, 200, result);
    } catch (error) {
      if (TrainingApiError.isInstance(error)) {
        if (error.status === 413) response.setHeader('connection', 'close');
        sendJson(response, error.status, { detail: error.detail });
      } else {
        sendJson(response, 500, {
          detail: `Internal error: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    }
    return true;
  };
  let closed: Promise<void> | undefined;
  return Object.assign(handler, {
    engine,
    close: () => {
      closing = true;
      closed ??= engine.close();
      return closed;
    },
  });
}
