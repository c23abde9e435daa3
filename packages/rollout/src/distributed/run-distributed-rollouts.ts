import { type ChildProcess, fork } from 'node:child_process';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type RolloutGroup } from '@arpo/core';
import type { AgentLoopSettings, RolloutPrompt } from '../agent/rollout-options.js';
import { DistributedRolloutError } from './distributed-rollout-error.js';
import type {
  DistributedSampler,
  ParentMessage,
  RolloutWorkerSetup,
  WorkerMessage,
} from './rollout-worker-messages.js';
import { rolloutGroupFromLine, rolloutGroupToLine } from './serialize-rollout-group.js';

export interface DistributedRolloutOptions {
  prompts: readonly RolloutPrompt[];
  settings: AgentLoopSettings;
  sampler: DistributedSampler;
  /** How each worker builds its environment (typically a `RemotePolicy` on the endpoints, plus tools). */
  setup: RolloutWorkerSetup;
  /** Worker processes. Default 2. */
  workers?: number;
  /**
   * JSON-lines file every finished group is appended to as it arrives (one line per group, flushed before the
   * next prompt is handed out). Groups already in the file are not rolled out again (resume).
   */
  resultsFile?: string;
  /** Attempts per prompt when workers die or fail while running it. Default 3. */
  attempts?: number;
  /** Extra `execArgv` for the workers. Default: the parent's `execArgv` (keeps `--import tsx` and conditions). */
  execArgv?: readonly string[];
  /** Called when a worker starts a prompt (once per attempt: a prompt retried after a lost worker starts again). */
  onPromptStarted?: (event: {
    promptId: string;
    workerIndex: number;
    pid: number | undefined;
    attempt: number;
  }) => void;
  /** Called as each group arrives (after it is written to the results file). */
  onGroup?: (event: { group: RolloutGroup; workerIndex: number; pid: number | undefined }) => void;
}

export interface DistributedRolloutResult {
  /** One group per prompt, in the order of `prompts`. */
  groups: RolloutGroup[];
  /** Groups read back from an existing results file instead of being rolled out. */
  resumed: number;
  /** Workers that exited before the end (killed or crashed). */
  lostWorkers: number;
}

interface WorkerState {
  index: number;
  child: ChildProcess;
  ready: boolean;
  current: RolloutPrompt | undefined;
  alive: boolean;
}

/** The worker entry beside this file: `.ts` when running from sources (tsx), `.js` from the build. */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return here.replace(
    /run-distributed-rollouts\.(ts|js)$/,
    (_match, extension) => `rollout-worker-entry.${extension}`,
  );
}

async function readResults(file: string): Promise<Map<string, RolloutGroup>> {
  const groups = new Map<string, RolloutGroup>();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return groups;
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const group = rolloutGroupFromLine(line);
      groups.set(group.promptId, group);
    } catch {
      // A line cut short by a crash mid-write: its prompt is rolled out again.
    }
  }
  return groups;
}

/**
 * Rolls out prompts in worker processes (`child_process.fork`), one prompt (one group) at a time per worker,
 * each worker driving the agent loop against its own environment, typically a `RemotePolicy` on one or more
 * OpenAI-compatible endpoints. Finished groups stream back over IPC and are appended to `resultsFile` at once, so
 * a killed worker loses only the prompt it was running, which goes to another worker. Per-prompt seeds derive
 * from `settings.seed` and the prompt id, so a group does not depend on which worker ran it.
 */
export async function runDistributedRollouts(
  options: DistributedRolloutOptions,
): Promise<DistributedRolloutResult> {
  const workerCount = options.workers ?? 2;
  if (!Number.isInteger(workerCount) || workerCount < 1) {
    throw new InvalidArgumentError({
      argument: 'workers',
      message: `must be a positive integer, got ${workerCount}`,
    });
  }
  const ids = new Set<string>();
  for (const prompt of options.prompts) {
    if (ids.has(prompt.promptId))
      throw new InvalidArgumentError({
        argument: 'prompts',
        message: `promptId '${prompt.promptId}' repeats`,
      });
    ids.add(prompt.promptId);
  }
  const done =
    options.resultsFile === undefined
      ? new Map<string, RolloutGroup>()
      : await readResults(options.resultsFile);
  for (const id of [...done.keys()]) if (!ids.has(id)) done.delete(id);
  const resumed = done.size;
  if (options.resultsFile !== undefined) await mkdir(dirname(options.resultsFile), { recursive: true });
  const queue = options.prompts.filter((prompt) => !done.has(prompt.promptId));
  const attempts = new Map<string, number>();
  const maxAttempts = options.attempts ?? 3;
  let lostWorkers = 0;
  if (queue.length === 0)
    return {
      groups: options.prompts.map((prompt) => done.get(prompt.promptId) as RolloutGroup),
      resumed,
      lostWorkers,
    };

  return new Promise<DistributedRolloutResult>((resolve, reject) => {
    const workers: WorkerState[] = [];
    let writing: Promise<void> = Promise.resolve();
    let settled = false;

    const unfinished = () =>
      options.prompts.filter((prompt) => !done.has(prompt.promptId)).map((prompt) => prompt.promptId);
    const stopAll = () => {
      for (const worker of workers) {
        if (!worker.alive) continue;
        if (worker.child.connected) worker.child.send({ type: 'stop' } satisfies ParentMessage);
        else worker.child.kill();
      }
    };
    const fail = (message: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      stopAll();
      void writing.then(() =>
        reject(
          new DistributedRolloutError({
            message,
            unfinishedPromptIds: unfinished(),
            ...(cause === undefined ? {} : { cause }),
          }),
        ),
      );
    };
    const finishIfDone = () => {
      if (settled || done.size < options.prompts.length) return;
      settled = true;
      stopAll();
      void writing.then(() =>
        resolve({
          groups: options.prompts.map((prompt) => done.get(prompt.promptId) as RolloutGroup),
          resumed,
          lostWorkers,
        }),
      );
    };
    const requeue = (prompt: RolloutPrompt, reason: string) => {
      const count = (attempts.get(prompt.promptId) ?? 0) + 1;
      attempts.set(prompt.promptId, count);
      if (count >= maxAttempts) return fail(`prompt '${prompt.promptId}' failed ${count} times: ${reason}`);
      queue.unshift(prompt);
    };
    const dispatch = () => {
      for (const worker of workers) {
        if (!worker.alive || !worker.ready || worker.current !== undefined) continue;
        const prompt = queue.shift();
        if (prompt === undefined) break;
        worker.current = prompt;
        worker.child.send({
          type: 'prompt',
          promptId: prompt.promptId,
          promptTokenIds: Array.from(prompt.promptTokenIds),
        } satisfies ParentMessage);
      }
      if (!settled && workers.every((worker) => !worker.alive) && done.size < options.prompts.length)
        fail('every worker exited');
    };

    for (let index = 0; index < Math.min(workerCount, queue.length); index++) {
      const child = fork(workerEntry(), [], {
        execArgv: [...(options.execArgv ?? process.execArgv)],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'json',
      });
      const worker: WorkerState = { index, child, ready: false, current: undefined, alive: true };
      workers.push(worker);
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          worker.ready = true;
          dispatch();
        } else if (message.type === 'started') {
          options.onPromptStarted?.({
            promptId: message.promptId,
            workerIndex: worker.index,
            pid: child.pid,
            attempt: (attempts.get(message.promptId) ?? 0) + 1,
          });
        } else if (message.type === 'group') {
          const group = rolloutGroupFromLine(message.line);
          worker.current = undefined;
          if (done.has(group.promptId)) return dispatch();
          done.set(group.promptId, group);
          // Persist before handing out more work, in arrival order.
          writing = writing.then(async () => {
            if (options.resultsFile !== undefined)
              await appendFile(options.resultsFile, `${rolloutGroupToLine(group)}\n`);
            options.onGroup?.({ group, workerIndex: worker.index, pid: child.pid });
          });
          void writing.then(() => {
            dispatch();
            finishIfDone();
          });
        } else if (message.type === 'failed') {
          if (message.promptId === undefined)
            return fail(`worker ${worker.index} setup failed: ${message.message}`);
          const prompt = worker.current;
          worker.current = undefined;
          if (prompt !== undefined) requeue(prompt, message.message);
          dispatch();
        }
      });
      child.on('exit', (code, signal) => {
        if (!worker.alive) return;
        worker.alive = false;
        if (settled) return;
        lostWorkers++;
        const prompt = worker.current;
        worker.current = undefined;
        if (prompt !== undefined) requeue(prompt, `worker ${worker.index} exited (${signal ?? code})`);
        dispatch();
      });
      child.on('error', (error) => fail(`worker ${index} could not start`, error));
      child.send({
        type: 'start',
        workerIndex: index,
        setup: options.setup,
        settings: options.settings,
        sampler: options.sampler,
      } satisfies ParentMessage);
    }
  });
}
