import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeToolConformance } from '@arpo/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpSearchBackend, mapSearchResponse } from './http-search-backend.js';
import { SearchBackendError } from './search-backend-error.js';
import { createSearchTool } from './search-tool.js';

interface Recorded {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (request: Recorded, response: ServerResponse) => void;

// The shared Tool suite for the search tool on the HTTP backend, against a real server on 127.0.0.1 that
// answers every query in Bing's format.
let conformanceServer: Server | undefined;
describeToolConformance('search (HTTP backend)', {
  create: async () => {
    conformanceServer = createServer((request, response) => {
      const query = new URL(request.url ?? '/', 'http://loopback').searchParams.get('q') ?? '';
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ webPages: { value: [{ snippet: `about ${query}` }] } }));
    });
    await new Promise<void>((resolve) => conformanceServer?.listen(0, '127.0.0.1', resolve));
    const port = (conformanceServer.address() as AddressInfo).port;
    return createSearchTool({ backend: createHttpSearchBackend({ url: `http://127.0.0.1:${port}/search` }) });
  },
  validInput: { query: 'okapi bm25' },
  expectOutput: (output) => expect(output).toBe('Page 1: about okapi bm25'),
  invalidInput: { query: '   ' },
  invalidInputCode: 'invalid-input',
});
afterAll(async () => {
  conformanceServer?.closeAllConnections();
  await new Promise((resolve) => conformanceServer?.close(resolve) ?? resolve(undefined));
});

describe('createHttpSearchBackend against a loopback server', () => {
  let server: Server;
  let baseUrl: string;
  const recorded: Recorded[] = [];
  let handlers: Handler[] = [];

  const bing = (snippets: string[]) => ({
    _type: 'SearchResponse',
    webPages: {
      value: snippets.map((snippet, i) => ({ name: `Title ${i}`, url: `https://example.org/${i}`, snippet })),
    },
  });
  const json = (
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        const entry = {
          method: request.method ?? '',
          url: new URL(request.url ?? '/', 'http://loopback'),
          headers: request.headers,
          body,
        };
        recorded.push(entry);
        const handler = handlers.shift();
        if (handler === undefined) json(response, 500, { error: 'no handler queued' });
        else handler(entry, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v7.0/search`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    recorded.length = 0;
    handlers = [];
  });

  it('sends the query, count and API key, and maps a Bing response', async () => {
    handlers.push((_request, response) => json(response, 200, bing(['first snippet', 'second snippet'])));
    const tool = createSearchTool({
      backend: createHttpSearchBackend({ url: baseUrl, apiKey: 'secret-key', parameters: { mkt: 'en-US' } }),
      topK: 5,
    });
    const result = await tool.execute('amy smart debut');
    expect(result).toMatchObject({ ok: true, output: 'Page 1: first snippet\nPage 2: second snippet' });
    const [request] = recorded;
    expect(request?.method).toBe('GET');
    expect(request?.url.pathname).toBe('/v7.0/search');
    expect(request?.url.searchParams.get('q')).toBe('amy smart debut');
    expect(request?.url.searchParams.get('count')).toBe('5');
    expect(request?.url.searchParams.get('mkt')).toBe('en-US');
    expect(request?.headers['ocp-apim-subscription-key']).toBe('secret-key');
  });

  it('posts JSON with a bearer key when configured', async () => {
    handlers.push((_request, response) =>
      json(response, 200, { results: [{ title: 't', content: 'posted' }] }),
    );
    const backend = createHttpSearchBackend({
      url: baseUrl,
      method: 'POST',
      apiKey: 'k',
      apiKeyHeader: 'Authorization',
      body: ({ query, count }) => ({ q: query, n: count }),
    });
    const result = await createSearchTool({ backend, topK: 3 }).execute({ query: 'hello' });
    expect(result).toMatchObject({ ok: true, output: 'Page 1: posted' });
    expect(JSON.parse(recorded[0]?.body ?? '')).toEqual({ q: 'hello', n: 3 });
    expect(recorded[0]?.headers.authorization).toBe('Bearer k');
    expect(recorded[0]?.headers['content-type']).toBe('application/json');
  });

  it('retries 429 and 5xx, honouring Retry-After, then succeeds', async () => {
    handlers.push((_request, response) =>
      json(response, 429, { error: 'slow down' }, { 'retry-after': '0' }),
    );
    handlers.push((_request, response) => json(response, 503, { error: 'down' }));
    handlers.push((_request, response) => json(response, 200, bing(['third time lucky'])));
    const backend = createHttpSearchBackend({ url: baseUrl, retries: 2, retryDelayMs: 1 });
    const result = await createSearchTool({ backend }).execute('q');
    expect(result).toMatchObject({ ok: true, output: 'Page 1: third time lucky', metadata: { attempts: 3 } });
    expect(recorded).toHaveLength(3);
  });

  it('gives up after the retries with a retryable unavailable error', async () => {
    for (let i = 0; i < 3; i += 1)
      handlers.push((_request, response) => json(response, 500, { error: `boom ${i}` }));
    const backend = createHttpSearchBackend({
      url: baseUrl,
      retries: 2,
      retryDelayMs: 1,
      apiKey: 'never-shown',
    });
    const result = await createSearchTool({ backend }).execute('q');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('unavailable');
    expect(result.error.retryable).toBe(true);
    expect(result.error.message).toContain('HTTP 500');
    expect(result.error.message).toContain('after 3 attempts');
    expect(result.error.message).not.toContain('never-shown');
    expect(recorded).toHaveLength(3);
  });

  it('does not retry other 4xx answers', async () => {
    handlers.push((_request, response) => json(response, 401, { error: 'bad key' }));
    const backend = createHttpSearchBackend({ url: baseUrl, retries: 3, retryDelayMs: 1 });
    const error = await backend
      .search({ query: 'q', topK: 10, signal: new AbortController().signal })
      .catch((caught: unknown) => caught);
    expect(SearchBackendError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ toolErrorCode: 'runtime-error', status: 401, isRetryable: false });
    expect(recorded).toHaveLength(1);
  });

  it('times out a silent server per attempt and reports a timeout', async () => {
    const hang: Handler = () => {};
    handlers.push(hang, hang);
    const backend = createHttpSearchBackend({ url: baseUrl, timeoutMs: 50, retries: 1, retryDelayMs: 1 });
    const result = await createSearchTool({ backend }).execute('q');
    expect(result).toMatchObject({ ok: false, error: { code: 'timeout', retryable: true } });
    expect(recorded).toHaveLength(2);
  });

  it('reports invalid JSON as a runtime error', async () => {
    handlers.push((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('<html>not json</html>');
    });
    const result = await createSearchTool({ backend: createHttpSearchBackend({ url: baseUrl }) }).execute(
      'q',
    );
    expect(result).toMatchObject({ ok: false, error: { code: 'runtime-error' } });
    if (!result.ok) expect(result.error.message).toContain('invalid JSON');
  });

  it('reports a closed port as unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const backend = createHttpSearchBackend({ url: `http://127.0.0.1:${port}/`, retries: 0 });
    const result = await createSearchTool({ backend }).execute('q');
    expect(result).toMatchObject({ ok: false, error: { code: 'unavailable', retryable: true } });
  });

  it('stops waiting when the caller aborts', async () => {
    handlers.push(() => {});
    const controller = new AbortController();
    const tool = createSearchTool({ backend: createHttpSearchBackend({ url: baseUrl, timeoutMs: 10_000 }) });
    const pending = tool.execute('q', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'aborted' } });
  });
});

describe('mapSearchResponse', () => {
  it('reads Bing, SERP, Google CSE and generic shapes', () => {
    expect(mapSearchResponse({ webPages: { value: [{ name: 'n', url: 'u', snippet: 's' }] } })).toEqual([
      { snippet: 's', title: 'n', url: 'u' },
    ]);
    expect(mapSearchResponse({ organic: [{ title: 't', link: 'l', description: 'd' }] })).toEqual([
      { snippet: 'd', title: 't', url: 'l' },
    ]);
    expect(mapSearchResponse({ items: [{ snippet: 'g' }, { nothing: 1 }, 'junk'] })).toEqual([
      { snippet: 'g' },
    ]);
    expect(mapSearchResponse([{ text: 'x' }])).toEqual([{ snippet: 'x' }]);
    expect(mapSearchResponse({ _type: 'SearchResponse' })).toEqual([]);
    expect(() => mapSearchResponse('text')).toThrow(/JSON object or array/);
  });
});
