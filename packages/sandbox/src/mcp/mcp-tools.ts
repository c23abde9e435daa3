import {
  InvalidArgumentError,
  type JsonSchema,
  type Tool,
  type ToolErrorCode,
  type ToolExecuteOptions,
  type ToolResult,
  toolFailure,
  toolNamePattern,
  toolSuccess,
} from '@arpo/core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { McpConnectionError } from './mcp-connection-error.js';
import { mcpResultText } from './mcp-content-text.js';

/** How to reach an MCP server. */
export type McpServerOptions =
  | {
      transport: 'stdio';
      /** The program to start, for example `node` or `npx`. */
      command: string;
      args?: readonly string[];
      /** The server's environment. Default: the SDK's safe subset (PATH, HOME, ...), not the full environment. */
      env?: Readonly<Record<string, string>>;
      cwd?: string;
      /**
       * The server's stderr: `pipe` (default) keeps its last 4 KB to quote when the server dies; `inherit` shows
       * it; `ignore` drops it.
       */
      stderr?: 'pipe' | 'inherit' | 'ignore';
    }
  | {
      transport: 'http';
      /** The streamable-HTTP endpoint, for example `http://127.0.0.1:3000/mcp`. */
      url: string | URL;
      /** Extra request headers (for example an `Authorization` header). */
      headers?: Readonly<Record<string, string>>;
    };

export interface ConnectMcpToolsOptions {
  server: McpServerOptions;
  /** Default wall-clock limit of one call. Default 60 000 ms. */
  timeoutMs?: number;
  /** Limit of starting and initialising the server. Default 30 000 ms. */
  connectTimeoutMs?: number;
  /** Prepended to every tool name (`fs.` makes `fs.read_file`). Default none. */
  namePrefix?: string;
  /** Keeps only the tools it returns true for (by their MCP name). */
  filter?: (tool: { name: string; description?: string }) => boolean;
  /**
   * After the server dies or the connection breaks, start or reach it again on the next call (default true).
   * The call that was running when it broke fails with a retryable `unavailable` error either way.
   */
  reconnect?: boolean;
  /** Client name announced to the server. Default `arpo-sandbox`. */
  clientName?: string;
}

/** The tools of one MCP server, sharing one connection. */
export interface McpToolSet {
  readonly tools: readonly Tool[];
  /** The server's name and version from its initialisation answer. */
  readonly serverInfo: { name: string; version: string } | undefined;
  /** The tool by its ARPO.ts name (after prefixing and sanitising). */
  get(name: string): Tool | undefined;
  /** Closes the connection (and stops a stdio server). Idempotent. */
  close(): Promise<void>;
}

const stderrTailLength = 4096;
/** JSON-RPC codes from the MCP SDK's `ErrorCode` (kept here so the SDK is only loaded on connect). */
const rpcInvalidParams = -32602;
const rpcConnectionClosed = -32000;
const rpcRequestTimeout = -32001;

/** Makes an MCP tool name model-writable: characters outside `[A-Za-z0-9_.-]` become `_`, cut to 64. */
export function sanitizeMcpToolName(name: string, prefix = ''): string {
  const cleaned = `${prefix}${name}`.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return cleaned === '' ? 'tool' : cleaned;
}

function describeServer(server: McpServerOptions): string {
  return server.transport === 'stdio'
    ? `'${[server.command, ...(server.args ?? [])].join(' ')}'`
    : `'${String(server.url)}'`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One connection, reopened on demand after it breaks (when allowed). */
class McpConnection {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private closed = false;
  private stderrTail = '';
  private lost = false;
  serverInfo: { name: string; version: string } | undefined;

  constructor(
    private readonly options: ConnectMcpToolsOptions,
    readonly label: string,
  ) {}

  /** The last lines the server wrote to stderr, for error messages. */
  stderrExcerpt(): string {
    const tail = this.stderrTail.trim();
    return tail === '' ? '' : `; server stderr: ${tail.slice(-500)}`;
  }

  async acquire(timeoutMs: number): Promise<Client> {
    if (this.closed)
      throw new McpConnectionError({
        server: this.label,
        message: 'connection is closed',
        isRetryable: false,
      });
    if (this.client !== undefined) return this.client;
    if (this.lost && this.options.reconnect === false) {
      throw new McpConnectionError({
        server: this.label,
        message: `connection was lost and reconnect is off${this.stderrExcerpt()}`,
        isRetryable: false,
      });
    }
    this.connecting ??= this.open(timeoutMs).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async createTransport(): Promise<Transport> {
    const server = this.options.server;
    if (server.transport === 'stdio') {
      const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
      const stderr = server.stderr ?? 'pipe';
      const transport = new StdioClientTransport({
        command: server.command,
        args: [...(server.args ?? [])],
        ...(server.env === undefined ? {} : { env: { ...server.env } }),
        ...(server.cwd === undefined ? {} : { cwd: server.cwd }),
        stderr,
      });
      transport.stderr?.on('data', (chunk: Buffer) => {
        this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-stderrTailLength);
      });
      return transport;
    }
    const { StreamableHTTPClientTransport } = await import(
      '@modelcontextprotocol/sdk/client/streamableHttp.js'
    );
    return new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { ...server.headers } },
      // Retrying a broken stream is this wrapper's job (reconnect on the next call), not the transport's.
      reconnectionOptions: {
        maxReconnectionDelay: 1000,
        initialReconnectionDelay: 100,
        reconnectionDelayGrowFactor: 2,
        maxRetries: 0,
      },
    });
  }

  private async open(timeoutMs: number): Promise<Client> {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const client = new Client(
      { name: this.options.clientName ?? 'arpo-sandbox', version: '0.0.0' },
      { capabilities: {} },
    );
    client.onclose = () => this.forget(client);
    client.onerror = (error) => {
      // A streamable-HTTP response stream that breaks (the server died mid-call) leaves its request pending
      // until the timeout; dropping the client rejects it at once. Other errors surface as failed requests.
      if (/SSE stream disconnected|Maximum reconnection attempts/.test(error.message)) this.forget(client);
    };
    try {
      await client.connect(await this.createTransport(), { timeout: timeoutMs });
    } catch (error) {
      await client.close().catch(() => {});
      throw new McpConnectionError({
        server: this.label,
        message: `could not connect: ${errorMessage(error)}${this.stderrExcerpt()}`,
        cause: error,
      });
    }
    if (this.closed) {
      await client.close().catch(() => {});
      throw new McpConnectionError({
        server: this.label,
        message: 'connection is closed',
        isRetryable: false,
      });
    }
    const version = client.getServerVersion();
    if (version !== undefined) this.serverInfo = { name: version.name, version: version.version };
    this.client = client;
    return client;
  }

  /** Drops a broken client; the next `acquire` opens a new connection when reconnect is on. */
  forget(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.lost = true;
    void client.close().catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = await this.connecting?.catch(() => undefined);
    const client = this.client ?? pending;
    this.client = undefined;
    await client?.close().catch(() => {});
  }
}

function rpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && error.name === 'McpError' && typeof code === 'number' ? code : undefined;
}

/** Classifies an `isError` result from the SDK's McpServer, which reports bad arguments and unknown tools so. */
function errorResultCode(text: string): ToolErrorCode {
  if (/^MCP error -32602: Tool .* not found/.test(text)) return 'unknown-tool';
  if (/^MCP error -32602: /.test(text)) return 'invalid-input';
  return 'runtime-error';
}

/**
 * Connects to an MCP server (a stdio process or a streamable-HTTP endpoint), lists its tools and wraps each as
 * an ARPO.ts `Tool`. A call's MCP `isError` result becomes `runtime-error` (bad arguments `invalid-input`), a
 * timeout `timeout`, a dead server or broken connection a retryable `unavailable`; nothing is thrown. Each
 * wrapped tool's `close` releases its share of the connection, which closes when every tool (or the set) is
 * closed. Throws `McpConnectionError` when the server cannot be reached at all.
 */
export async function connectMcpTools(options: ConnectMcpToolsOptions): Promise<McpToolSet> {
  const defaultTimeoutMs = options.timeoutMs ?? 60_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  const prefix = options.namePrefix ?? '';
  if (prefix !== '' && !/^[A-Za-z0-9_.-]{1,32}$/.test(prefix)) {
    throw new InvalidArgumentError({
      argument: 'namePrefix',
      message: `'${prefix}' must match [A-Za-z0-9_.-]{1,32}`,
    });
  }
  if (options.server.transport === 'http') {
    try {
      new URL(options.server.url);
    } catch (error) {
      throw new InvalidArgumentError({
        argument: 'server.url',
        message: `not a valid URL: ${String(options.server.url)}`,
        cause: error,
      });
    }
  }
  const connection = new McpConnection(options, describeServer(options.server));
  const listed: { name: string; description?: string; title?: string; inputSchema: JsonSchema }[] = [];
  try {
    const client = await connection.acquire(connectTimeoutMs);
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, {
        timeout: connectTimeoutMs,
      });
      listed.push(...(page.tools as typeof listed));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } catch (error) {
    await connection.close();
    if (McpConnectionError.isInstance(error)) throw error;
    throw new McpConnectionError({
      server: connection.label,
      message: `could not list tools: ${errorMessage(error)}`,
      cause: error,
    });
  }

  let openTools = 0;
  const usedNames = new Set<string>();
  const tools: Tool[] = [];
  for (const listedTool of listed) {
    if (options.filter !== undefined && !options.filter(listedTool)) continue;
    let name = sanitizeMcpToolName(listedTool.name, prefix);
    for (let suffix = 2; usedNames.has(name); suffix += 1) name = `${name.slice(0, 60)}_${suffix}`;
    usedNames.add(name);
    openTools += 1;
    tools.push(
      wrapTool({
        name,
        mcpName: listedTool.name,
        description: listedTool.description?.trim() || listedTool.title || `MCP tool ${listedTool.name}`,
        inputSchema: listedTool.inputSchema ?? { type: 'object' },
        connection,
        defaultTimeoutMs,
        connectTimeoutMs,
        onClose: async () => {
          openTools -= 1;
          if (openTools === 0) await connection.close();
        },
      }),
    );
  }
  if (openTools === 0) await connection.close();
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  return {
    tools,
    serverInfo: connection.serverInfo,
    get: (name) => byName.get(name),
    close: () => connection.close(),
  };
}

function wrapTool(options: {
  name: string;
  mcpName: string;
  description: string;
  inputSchema: JsonSchema;
  connection: McpConnection;
  defaultTimeoutMs: number;
  connectTimeoutMs: number;
  onClose: () => Promise<void>;
}): Tool {
  const { connection, mcpName } = options;
  if (!toolNamePattern.test(options.name)) {
    throw new InvalidArgumentError({
      argument: 'name',
      message: `MCP tool name '${options.name}' is not model-writable`,
    });
  }
  let closed = false;
  return {
    name: options.name,
    description: options.description,
    inputSchema: options.inputSchema,
    async execute(input: unknown, executeOptions: ToolExecuteOptions = {}): Promise<ToolResult> {
      const argumentsObject = input === undefined ? {} : input;
      if (argumentsObject === null || typeof argumentsObject !== 'object' || Array.isArray(argumentsObject)) {
        return toolFailure(
          'invalid-input',
          `'${options.name}' takes an object of arguments, got ${Array.isArray(input) ? 'array' : input === null ? 'null' : typeof input}`,
        );
      }
      if (closed) return toolFailure('unavailable', `tool '${options.name}' is closed`);
      const signal = executeOptions.signal;
      if (signal?.aborted) return toolFailure('aborted', `'${options.name}' was aborted before it started`);
      const timeoutMs = executeOptions.timeoutMs ?? options.defaultTimeoutMs;
      const started = Date.now();
      let client: Client;
      try {
        client = await connection.acquire(Math.min(options.connectTimeoutMs, timeoutMs));
      } catch (error) {
        const retryable = McpConnectionError.isInstance(error) ? error.isRetryable : true;
        return toolFailure('unavailable', errorMessage(error), retryable);
      }
      const remainingMs = Math.max(1, timeoutMs - (Date.now() - started));
      try {
        const result = (await client.callTool(
          { name: mcpName, arguments: argumentsObject as Record<string, unknown> },
          undefined,
          signal === undefined ? { timeout: remainingMs } : { timeout: remainingMs, signal },
        )) as { content?: unknown; structuredContent?: unknown; isError?: unknown; toolResult?: unknown };
        // Servers on protocol 2024-10-07 answer `{ toolResult }` instead of content.
        const text =
          result.content === undefined && result.toolResult !== undefined
            ? JSON.stringify(result.toolResult)
            : mcpResultText(result);
        const metadata: Record<string, unknown> = { mcpTool: mcpName };
        if (result.structuredContent !== undefined) metadata.structuredContent = result.structuredContent;
        if (result.isError === true) {
          return {
            ok: false,
            error: { code: errorResultCode(text), message: text || `'${options.name}' failed` },
            metadata,
          };
        }
        return toolSuccess(text, metadata);
      } catch (error) {
        if (signal?.aborted) return toolFailure('aborted', `'${options.name}' was aborted`);
        const code = rpcCode(error);
        if (code === rpcRequestTimeout) {
          return toolFailure('timeout', `'${options.name}' did not answer within ${timeoutMs} ms`, true);
        }
        if (code === rpcInvalidParams) {
          const message = errorMessage(error);
          return toolFailure(/not found/i.test(message) ? 'unknown-tool' : 'invalid-input', message);
        }
        if (code !== undefined && code !== rpcConnectionClosed)
          return toolFailure('runtime-error', errorMessage(error));
        // The connection broke (process died, HTTP failure, "Not connected"): drop it so the next call reconnects.
        connection.forget(client);
        return toolFailure(
          'unavailable',
          `MCP server ${connection.label} failed during '${options.name}': ${errorMessage(error)}${connection.stderrExcerpt()}`,
          true,
        );
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await options.onClose();
    },
  };
}
