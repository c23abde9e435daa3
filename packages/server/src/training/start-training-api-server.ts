import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createTrainingApiHandler,
  type TrainingApiHandler,
  type TrainingApiHandlerOptions,
} from './training-api-handler.js';

export interface TrainingApiServerOptions extends TrainingApiHandlerOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1: the API has no authentication (like SkyRL's), keep it on loopback. */
  host?: string;
}

export interface TrainingApiServer {
  /** `http://host:port`, the client's `baseUrl`. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  readonly handler: TrainingApiHandler;
  /** Stops listening, ends open connections and unloads every model. */
  close(): Promise<void>;
}

/** Listens with `createTrainingApiHandler` (everything outside `/api/v1/` gets a 404 JSON error). */
export async function startTrainingApiServer(options: TrainingApiServerOptions): Promise<TrainingApiServer> {
  const handler = createTrainingApiHandler(options);
  const server = createServer((request, response) => {
    handler(request, response)
      .then((handled) => {
        if (handled) return;
        request.resume();
        const text = JSON.stringify({ detail: 'Not Found' });
        response.writeHead(404, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        response.end(text);
      })
      .catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    port,
    server,
    handler,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await handler.close();
    },
  };
}
