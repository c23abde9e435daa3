import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ArpoError,
  ContextLengthError,
  createRandom,
  type GenerationRequest,
  type GenerationResult,
  lazySchema,
  type Policy,
  parse,
  ValidationError,
} from '@arpo/core';
import { z } from 'zod';
import { CompletionChunker } from './completion-chunker.js';
import {
  type NormalizedRequest,
  normalizeChatRequest,
  normalizeCompletionRequest,
  type RequestLimits,
} from './completion-request.js';
import { chatBody, completionBody } from './completion-response.js';
import { type BatcherStatistics, GenerationBatcher } from './generation-batcher.js';
import { OpenAiHttpError } from './openai-http-error.js';
import type { ResponseContext } from './response-fields.js';

/** A handler tried before the OpenAI routes; resolves true when it answered the request. */
export type AdditionalHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export interface OpenAiServerOptions {
  policy: Policy;
  /** The model id clients send (`model`). Default: `policy.id`. */
  modelId?: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Requests waiting for a batch at most; more get 429. Default 256. */
  maxQueue?: number;
  /** Sequences (sum of `n`) per batched `generate` call at most. Default 64. */
  maxBatch?: number;
  /** How long the first request on an idle server waits for others to batch with. Default 2 ms. */
  gatherWindowMs?: number;
  /** Largest `logprobs` / `top_logprobs` accepted (vLLM's cap). Default 20. */
  maxTopLogprobs?: number;
  /** Largest `n`. Default 64. */
  maxN?: number;
  /** Largest request body. Default 8 MiB. */
  maxBodyBytes?: number;
  /** When set, requests must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Seeds requests that carry no `seed`. Default 0. */
  seed?: number;
  /** Tried in order before the OpenAI routes (the Tinker-style training API of `arpo serve --trainer`). */
  additionalHandlers?: readonly AdditionalHandler[];
}

const serverOptionsSchema = lazySchema('OpenAI server options', () =>
  z.object({
    modelId: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65_535).optional(),
    maxQueue: z.number().int().positive().optional(),
    maxBatch: z.number().int().positive().optional(),
    gatherWindowMs: z.number().min(0).optional(),
    maxTopLogprobs: z.number().int().min(0).max(100).optional(),
    maxN: z.number().int().positive().optional(),
    maxBodyBytes: z.number().int().positive().optional(),
    apiKey: z.string().min(1).optional(),
    seed: z.number().int().optional(),
  }),
);

/** What `statistics()` and `GET /statistics` report. */
export type OpenAiServerStatistics = BatcherStatistics & {
  httpRequests: number;
  /** Error responses by HTTP status. */
  errors: Record<string, number>;
  /** Every response sent (additional handlers' too), by HTTP status, counted when handed to the socket. */
  responses: Record<string, number>;
};

/** A running OpenAI-compatible server. */
export interface OpenAiServer {
  /** `http://host:port` */
  readonly url: string;
  /** `http://host:port/v1`, what OpenAI clients take as `baseURL`. */
  readonly baseUrl: string;
  readonly port: number;
  readonly modelId: string;
  /**
   * Counters since start: the batcher's, HTTP requests received, error responses by status, and every response
   * sent by status (`responses`, 200s included; also served as JSON at `GET /statistics`).
   */
  statistics(): OpenAiServerStatistics;
  /**
   * Graceful shutdown: stops accepting connections, answers new requests on open connections with 503, lets
   * queued and running generations finish and their responses go out, then closes. Idempotent.
   */
  close(): Promise<void>;
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      throw new OpenAiHttpError({
        status: 413,
        message: `the body exceeds ${limit} bytes`,
        code: 'body_too_large',
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts an OpenAI-compatible HTTP server (node:http) over any `Policy`: `GET /v1/models`, `POST /v1/completions`,
 * `POST /v1/chat/completions` (the tokenizer's chat template applied), with `logprobs`/`top_logprobs`, `stop`,
 * `n`, `seed`, `max_tokens`, `temperature`/`top_p`/`top_k`, streaming (SSE ending in `data: [DONE]`) and vLLM's
 * `return_tokens_as_token_ids`, `include_stop_str_in_output`, `stop_reason`. ARPO.ts extensions: `logprobs`
 * carries `token_entropies` (exact per-token entropy) and `/v1/models` an `arpo` object (vocabulary size, entropy
 * kind). Concurrent requests are gathered into one batched `policy.generate`; a full queue answers 429, shutdown
 * 503; invalid requests 400 in the OpenAI error shape, unknown models 404.
 */
export async function createOpenAiServer(options: OpenAiServerOptions): Promise<OpenAiServer> {
  const { policy, additionalHandlers = [], ...rest } = options;
  parse(serverOptionsSchema, rest);
  const modelId = options.modelId ?? policy.id;
  const limits: RequestLimits = {
    vocabularySize: policy.vocabularySize,
    contextLength: policy.contextLength,
    maxTopLogprobs: options.maxTopLogprobs ?? 20,
    maxN: options.maxN ?? 64,
  };
  const maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const batcher = new GenerationBatcher(policy, {
    maxBatch: options.maxBatch ?? 64,
    maxQueue: options.maxQueue ?? 256,
    gatherWindowMs: options.gatherWindowMs ?? 2,
  });
  const seeds = createRandom({ seed: options.seed ?? 0 });
  const created = Math.floor(Date.now() / 1000);
  let counter = 0;
  let httpRequests = 0;
  let inFlight = 0;
  let closing = false;
  const errors: Record<string, number> = {};
  const responses: Record<string, number> = {};
  const statistics = (): OpenAiServerStatistics => ({
    ...batcher.statistics(),
    httpRequests,
    errors: { ...errors },
    responses: { ...responses },
  });

  const models = () => ({
    object: 'list',
    data: [
      {
        id: modelId,
        object: 'model',
        created,
        owned_by: 'arpo',
        root: modelId,
        parent: null,
        max_model_len: policy.contextLength,
        arpo: { vocabulary_size: policy.vocabularySize, entropy: policy.capabilities.entropy },
      },
    ],
  });

  const generate = async (request: NormalizedRequest, response: ServerResponse) => {
    if (request.model !== modelId) {
      throw new OpenAiHttpError({
        status: 404,
        message: `The model '${request.model}' does not exist (this server serves '${modelId}')`,
        param: 'model',
        code: 'model_not_found',
      });
    }
    const requests: GenerationRequest[] = request.prompts.map((prompt) => ({
      promptTokenIds: prompt,
      // A seed per request makes the result independent of the batch it lands in.
      sampling: { ...request.sampling, seed: request.sampling.seed ?? seeds.nextUint32() },
      n: request.n,
    }));
    const context = {
      id: `${request.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${++counter}`,
      created: Math.floor(Date.now() / 1000),
      model: modelId,
      tokenizer: policy.tokenizer,
    };
    if (!request.stream) {
      const results = await batcher.submitAll(requests);
      sendJson(
        response,
        200,
        request.kind === 'chat'
          ? chatBody(request, results, context)
          : completionBody(request, results, context),
      );
      return;
    }
    await streamResponse(request, requests, context, response);
  };

  /**
   * Streams as the policy decodes: each token's chunk is written when the batcher reports it. The status line
   * waits for the first token, so errors found before generation (a prompt over the context) are still JSON
   * errors; a failure after it ends the stream with an `error` event. A client that disconnects stops the
   * writing and cancels its request (aborting the batch once every request in it is gone).
   */
  const streamResponse = async (
    request: NormalizedRequest,
    requests: readonly GenerationRequest[],
    context: ResponseContext,
    response: ServerResponse,
  ) => {
    const chunker = new CompletionChunker(request, context);
    const disconnected = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) disconnected.abort();
    });
    const writable = () => !disconnected.signal.aborted && !response.destroyed;
    const send = (chunks: readonly unknown[]) => {
      if (!writable()) return;
      if (!response.headersSent) {
        response.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
        });
        chunks = [...chunker.opening(), ...chunks];
      }
      for (const chunk of chunks) response.write(`data: ${JSON.stringify(chunk)}\n\n`);
    };
    let results: GenerationResult[];
    try {
      results = await batcher.submitAll(requests, {
        signal: disconnected.signal,
        onToken: (promptIndex, event) =>
          send([chunker.token(promptIndex * request.n + event.sequenceIndex, event)]),
      });
    } catch (error) {
      if (!writable()) return;
      if (!response.headersSent) throw error;
      const failure = toHttpError(error);
      errors[String(failure.status)] = (errors[String(failure.status)] ?? 0) + 1;
      response.end(`data: ${JSON.stringify(failure.body())}\n\n`);
      return;
    }
    send(chunker.finish(results));
    if (writable()) response.end('data: [DONE]\n\n');
  };

  const route = async (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (options.apiKey !== undefined && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      throw new OpenAiHttpError({
        status: 401,
        message: 'missing or wrong API key',
        type: 'authentication_error',
        code: 'invalid_api_key',
      });
    }
    if (path === '/health') return sendJson(response, 200, { status: closing ? 'closing' : 'ok' });
    if (path === '/statistics') return sendJson(response, 200, statistics());
    if (path === '/v1/models') {
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      return sendJson(response, 200, models());
    }
    if (path === '/v1/completions' || path === '/v1/chat/completions') {
      if (request.method !== 'POST') throw methodNotAllowed(request.method);
      if (closing) throw shuttingDown();
      const text = await readBody(request, maxBodyBytes);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (cause) {
        throw new OpenAiHttpError({
          status: 400,
          message: `the body is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
          code: 'invalid_json',
          cause,
        });
      }
      const normalized =
        path === '/v1/completions'
          ? normalizeCompletionRequest(body, policy.tokenizer, limits)
          : normalizeChatRequest(body, policy.tokenizer, limits);
      return generate(normalized, response);
    }
    throw new OpenAiHttpError({
      status: 404,
      message: `no route ${request.method} ${path}`,
      code: 'not_found',
    });
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    httpRequests++;
    inFlight++;
    response.once('finish', () => {
      const key = String(response.statusCode);
      responses[key] = (responses[key] ?? 0) + 1;
    });
    try {
      for (const handler of additionalHandlers) if (await handler(request, response)) return;
      await route(request, response);
    } catch (error) {
      const failure = toHttpError(error);
      const key = String(failure.status);
      errors[key] = (errors[key] ?? 0) + 1;
      if (response.headersSent) {
        response.end();
        return;
      }
      const headers: Record<string, string> = failure.status === 429 ? { 'retry-after': '1' } : {};
      if (closing) headers.connection = 'close';
      sendJson(response, failure.status, failure.body(), headers);
    } finally {
      inFlight--;
    }
  };

  const server: Server = createServer((request, response) => {
    void handle(request, response);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  let closed: Promise<void> | undefined;

  return {
    url,
    baseUrl: `${url}/v1`,
    port: address.port,
    modelId,
    statistics,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await batcher.idle();
        // Let the last responses be written before dropping idle keep-alive connections.
        while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
        server.closeIdleConnections();
        await stopped;
      })();
      return closed;
    },
  };
}

function methodNotAllowed(method: string | undefined): OpenAiHttpError {
  return new OpenAiHttpError({
    status: 405,
    message: `method ${method} is not allowed here`,
    code: 'method_not_allowed',
  });
}

function shuttingDown(): OpenAiHttpError {
  return new OpenAiHttpError({ status: 503, message: 'the server is shutting down', code: 'shutting_down' });
}

/** Maps anything thrown while serving to an HTTP error: typed validation errors are 400, the rest 500. */
function toHttpError(error: unknown): OpenAiHttpError {
  if (OpenAiHttpError.isInstance(error)) return error;
  if (ContextLengthError.isInstance(error)) {
    return new OpenAiHttpError({
      status: 400,
      message: error.message,
      param: 'prompt',
      code: 'context_length_exceeded',
    });
  }
  if (ValidationError.isInstance(error)) {
    return new OpenAiHttpError({
      status: 400,
      message: error.message,
      param: error.field,
      code: 'invalid_parameter',
    });
  }
  if (ArpoError.isInstance(error) && error.code === 'invalid-argument') {
    return new OpenAiHttpError({ status: 400, message: error.message, code: 'invalid_parameter' });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new OpenAiHttpError({
    status: 500,
    message: `internal error: ${message}`,
    code: 'internal_error',
    cause: error,
  });
}
