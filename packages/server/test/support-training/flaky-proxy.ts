import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does to the next request of an endpoint instead of (or after) forwarding it. */
export type Fault = 'status-503' | 'status-429' | 'reset-before' | 'reset-after-forward';

/**
 * A loopback HTTP proxy in front of a server that injects faults per endpoint path (`/api/v1/<name>`), in order:
 * error statuses, connections reset before forwarding, and connections reset after the server already handled
 * the request (the answer is lost). Counts what reached the upstream server.
 */
export class FlakyProxy {
  readonly forwarded = new Map<string, number>();
  /** The upstream's HTTP statuses per endpoint path, in order. */
  readonly statuses = new Map<string, number[]>();
  private readonly faults = new Map<string, Fault[]>();
  private server: Server | undefined;
  url = '';

  constructor(private readonly upstream: string) {}

  inject(path: string, ...faults: Fault[]): void {
    this.faults.set(path, [...(this.faults.get(path) ?? []), ...faults]);
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      this.handle(request)
        .then(({ status, body }) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(body);
        })
        .catch(() => request.socket.destroy());
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(request: IncomingMessage): Promise<{ status: number; body: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = (request.url ?? '').replace(/^\/api\/v1\//, '');
    const fault = this.faults.get(path)?.shift();
    if (fault === 'status-503') return { status: 503, body: JSON.stringify({ detail: 'injected overload' }) };
    if (fault === 'status-429')
      return { status: 429, body: JSON.stringify({ detail: 'injected rate limit' }) };
    if (fault === 'reset-before') throw new Error('reset');
    const answer = await fetch(`${this.upstream}${request.url}`, {
      method: request.method ?? 'GET',
      headers: { 'content-type': 'application/json' },
      ...(request.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = await answer.text();
    this.forwarded.set(path, (this.forwarded.get(path) ?? 0) + 1);
    this.statuses.set(path, [...(this.statuses.get(path) ?? []), answer.status]);
    if (fault === 'reset-after-forward') throw new Error('reset after forward');
    return { status: answer.status, body };
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}
