import { ArpoError } from '@arpo/core';

const name = 'ArpoMcpConnectionError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** An MCP server could not be started, reached or initialised. */
export class McpConnectionError extends ArpoError {
  private readonly [symbol] = true;

  /** The server as the user named it: the command line or the URL. */
  readonly server: string;

  constructor(options: { server: string; message: string; cause?: unknown; isRetryable?: boolean }) {
    super({
      name,
      code: 'mcp-connection-failed',
      message: `MCP server ${options.server}: ${options.message}`,
      cause: options.cause,
      isRetryable: options.isRetryable ?? true,
    });
    this.server = options.server;
  }

  static override isInstance(error: unknown): error is McpConnectionError {
    return ArpoError.hasMarker(error, marker);
  }
}
