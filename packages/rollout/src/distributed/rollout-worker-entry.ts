// The entry of a rollout worker process (started by `runDistributedRollouts`): builds the environment from the
// setup module, then runs one prompt at a time and sends each finished group back over IPC.
import { pathToFileURL } from 'node:url';
import type { RolloutGroup } from '@arpo/core';
import type { RolloutEnvironment } from '../agent/rollout-options.js';
import { sampleArpo } from '../samplers/arpo-sampler.js';
import { sampleIndependent } from '../samplers/independent-sampler.js';
import type { CreateRolloutEnvironment, ParentMessage, WorkerMessage } from './rollout-worker-messages.js';
import { rolloutGroupToLine } from './serialize-rollout-group.js';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

let environment: (RolloutEnvironment & { close?(): Promise<void> }) | undefined;
let start: Extract<ParentMessage, { type: 'start' }> | undefined;
let work: Promise<void> = Promise.resolve();

async function runPrompt(message: Extract<ParentMessage, { type: 'prompt' }>): Promise<void> {
  if (environment === undefined || start === undefined) return;
  const prompts = [{ promptId: message.promptId, promptTokenIds: Int32Array.from(message.promptTokenIds) }];
  // Sent before any request of the prompt goes out: the parent then knows what this worker has in flight.
  await send({ type: 'started', promptId: message.promptId });
  try {
    let groups: RolloutGroup[];
    if (start.sampler.kind === 'arpo') {
      groups = await sampleArpo({
        environment,
        prompts,
        settings: start.settings,
        arpo: start.sampler.arpo ?? {},
      });
    } else {
      groups = await sampleIndependent({
        environment,
        prompts,
        settings: start.settings,
        n: start.sampler.samples,
      });
    }
    for (const group of groups)
      await send({ type: 'group', promptId: group.promptId, line: rolloutGroupToLine(group) });
  } catch (error) {
    await send({
      type: 'failed',
      promptId: message.promptId,
      message: error instanceof Error ? error.message : String(error),
    });
  }
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'start') {
    start = message;
    work = work.then(async () => {
      try {
        const specifier = message.setup.module.startsWith('file:')
          ? message.setup.module
          : pathToFileURL(message.setup.module).href;
        const loaded = (await import(specifier)) as { createRolloutEnvironment?: CreateRolloutEnvironment };
        if (typeof loaded.createRolloutEnvironment !== 'function')
          throw new Error(`${message.setup.module} exports no createRolloutEnvironment function`);
        environment = await loaded.createRolloutEnvironment({
          setup: message.setup.options,
          workerIndex: message.workerIndex,
        });
        await send({ type: 'ready' });
      } catch (error) {
        await send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
        process.exit(1);
      }
    });
  } else if (message.type === 'prompt') {
    work = work.then(() => runPrompt(message));
  } else if (message.type === 'stop') {
    work = work.then(async () => {
      await environment?.close?.();
      process.disconnect?.();
      process.exit(0);
    });
  }
});
