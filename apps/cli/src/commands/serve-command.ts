import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@arpo/core';
import * as server from '@arpo/server';
import type { Command } from '../command.js';

function integer(value: string | undefined, name: string, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < minimum) {
    throw new InvalidArgumentError({
      argument: `--${name}`,
      message: `must be an integer ≥ ${minimum}, got '${value}'`,
    });
  }
  return number;
}

/** `arpo serve`: the OpenAI-compatible server over a local model folder, until SIGINT/SIGTERM (then drains). */
export const serveCommand: Command = {
  name: 'serve',
  summary:
    'Serve a local model over the OpenAI API (/v1/completions, /v1/chat/completions) for rollout workers',
  usage:
    'arpo serve --model <folder> [--host 127.0.0.1] [--port 8000] [--max-queue 256] [--max-batch 64] [--model-id ID] [--threads N] [--trainer [--trainer-dir DIR]]\n\n--trainer also serves the Tinker-style training API (/api/v1/*) over the local engine; base model = the served model id.',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'max-queue': { type: 'string' },
        'max-batch': { type: 'string' },
        'model-id': { type: 'string' },
        threads: { type: 'string' },
        trainer: { type: 'boolean' },
        'trainer-dir': { type: 'string' },
      },
      strict: true,
    });
    if (values.model === undefined) {
      throw new InvalidArgumentError({
        argument: '--model',
        message: 'is required: a folder written by the main job or exportHuggingFaceModel',
      });
    }
    const { policy, runtime, parts } = await server.loadServedPolicy({
      folder: resolve(io.cwd, values.model),
      ...(values['model-id'] === undefined ? {} : { id: values['model-id'] }),
      ...(values.threads === undefined ? {} : { threads: integer(values.threads, 'threads', 2, 1) }),
    });
    const additionalHandlers: server.AdditionalHandler[] = [];
    let trainingApi: server.TrainingApiHandler | undefined;
    if (values.trainer === true) {
      if (parts === undefined) {
        await policy.close?.();
        throw new InvalidArgumentError({
          argument: '--trainer',
          message: `the training API trains native models only; ${values.model} loads with the ${runtime} runtime`,
        });
      }
      // `create_model` with base_model = the served model id starts from the served weights (copied per model).
      trainingApi = server.createTrainingApiHandler({
        createModel: { [policy.id]: async () => parts },
        directory: resolve(io.cwd, values['trainer-dir'] ?? 'runs/serve-trainer'),
      });
      additionalHandlers.push(trainingApi);
    }
    const running = await server.createOpenAiServer({
      policy,
      host: values.host ?? '127.0.0.1',
      port: integer(values.port, 'port', 8000, 0),
      maxQueue: integer(values['max-queue'], 'max-queue', 256, 1),
      maxBatch: integer(values['max-batch'], 'max-batch', 64, 1),
      additionalHandlers,
    });
    io.out(
      `Serving '${running.modelId}' (${runtime} runtime, context ${policy.contextLength}) at ${running.baseUrl}` +
        `${trainingApi ? `; training API at ${running.baseUrl.replace(/\/v1$/, '')}/api/v1` : ''}\n` +
        'Ctrl-C stops (requests in flight finish first).\n',
    );
    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    io.out('Shutting down: draining requests...\n');
    await running.close();
    await trainingApi?.close();
    await policy.close?.();
    const statistics = running.statistics();
    io.out(`Served ${statistics.requests} generation requests in ${statistics.batches} batches.\n`);
    return 0;
  },
};
