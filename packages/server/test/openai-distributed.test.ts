import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolloutGroupFromLine, runDistributedRollouts } from '@arpo/rollout';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiServer, type OpenAiServer } from '../src/index.js';
import { workerHeader } from './support-openai/distributed-worker-setup.js';
import { createTinyPolicy } from './support-openai/tiny-policy.js';

const setupModule = fileURLToPath(new URL('./support-openai/distributed-worker-setup.ts', import.meta.url));
const execArgv = ['--conditions=@arpo/source', '--import', 'tsx'];
let servers: OpenAiServer[];
let policies: Awaited<ReturnType<typeof createTinyPolicy>>[];
let directory: string;

beforeAll(async () => {
  policies = [await createTinyPolicy(), await createTinyPolicy()];
  servers = await Promise.all(policies.map(({ policy }) => createOpenAiServer({ policy, modelId: 'tiny' })));
  directory = await mkdtemp(join(tmpdir(), 'arpo-distributed-'));
});
afterAll(async () => {
  for (const server of servers) await server.close();
  for (const { policy } of policies) await policy.close();
  await rm(directory, { recursive: true, force: true });
});

function prompts(count: number) {
  const { tokenizer } = policies[0] as Awaited<ReturnType<typeof createTinyPolicy>>;
  return Array.from({ length: count }, (_, index) => ({
    promptId: `q${index}`,
    promptTokenIds: tokenizer.encode(`question ${index}`, { addSpecialTokens: true }),
  }));
}

/**
 * A loopback proxy in front of the OpenAI servers that holds back the first completion request a chosen worker
 * sends (the worker is then provably mid-prompt: its prompt cannot finish while the request is held), and
 * forwards everything else. `onHeld` gets the worker index and the prompt's text.
 */
class HoldingProxy {
  private server: Server | undefined;
  private next = 0;
  private held: ServerResponse | undefined;
  url = '';

  constructor(
    private readonly upstreams: string[],
    private readonly shouldHold: (workerIndex: number) => boolean,
    private readonly onHeld: (hold: { workerIndex: number; prompt: number[] }) => void,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch(() => response.destroy());
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const workerIndex = Number(request.headers[workerHeader]);
    if (
      request.url === '/v1/completions' &&
      this.held === undefined &&
      Number.isInteger(workerIndex) &&
      this.shouldHold(workerIndex)
    ) {
      this.held = response;
      this.onHeld({
        workerIndex,
        prompt: (JSON.parse(body.toString('utf8')) as { prompt: number[] }).prompt,
      });
      return;
    }
    const upstream = this.upstreams[this.next++ % this.upstreams.length] as string;
    const answer = await fetch(`${upstream}${(request.url ?? '').replace(/^\/v1/, '')}`, {
      method: request.method ?? 'GET',
      headers: { 'content-type': 'application/json' },
      ...(request.method === 'POST' ? { body } : {}),
    });
    const text = await answer.text();
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(text);
  }

  async close(): Promise<void> {
    this.held?.destroy();
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}

describe('distributed rollouts in worker processes against OpenAI endpoints', () => {
  it('a worker killed with a prompt in flight: the prompt is retried elsewhere, its group arrives once, no completed group is lost', async () => {
    const { tokenizer } = policies[0] as Awaited<ReturnType<typeof createTinyPolicy>>;
    const resultsFile = join(directory, 'kill.jsonl');
    const delivered = new Map<number, { pid: number | undefined; promptIds: string[] }>();
    const groupEvents: { promptId: string; workerIndex: number }[] = [];
    const startedEvents: { promptId: string; workerIndex: number; attempt: number }[] = [];
    let victim: { workerIndex: number; promptId: string } | undefined;
    // Hold the first request of a worker that already delivered a group (onGroup runs before that worker is
    // handed its next prompt, so this is decided before its request can arrive): it is mid-prompt, with a
    // completed group behind it.
    const proxy = new HoldingProxy(
      servers.map((server) => server.baseUrl),
      (workerIndex) => (delivered.get(workerIndex)?.promptIds.length ?? 0) > 0,
      ({ workerIndex, prompt }) => {
        const text = tokenizer.decode(Int32Array.from(prompt), { skipSpecialTokens: true });
        const promptId = `q${/question (\d+)/.exec(text)?.[1]}`;
        victim = { workerIndex, promptId };
        // A real SIGKILL while its request is held: the worker cannot have finished the prompt.
        process.kill(delivered.get(workerIndex)?.pid as number, 'SIGKILL');
      },
    );
    await proxy.start();
    try {
      const result = await runDistributedRollouts({
        prompts: prompts(6),
        settings: { seed: 5, maxResponseTokens: 48, maxTurnTokens: 16, maxToolCalls: 2 },
        sampler: { kind: 'arpo', arpo: { trajectories: 4, initial: 2 } },
        setup: { module: setupModule, options: { endpoints: [proxy.url], model: 'tiny', tagRequests: true } },
        workers: 3,
        resultsFile,
        execArgv,
        onPromptStarted: ({ promptId, workerIndex, attempt }) =>
          startedEvents.push({ promptId, workerIndex, attempt }),
        onGroup: ({ group, workerIndex, pid }) => {
          groupEvents.push({ promptId: group.promptId, workerIndex });
          const entry = delivered.get(workerIndex) ?? { pid, promptIds: [] };
          entry.promptIds.push(group.promptId);
          delivered.set(workerIndex, entry);
        },
      });
      expect(victim).toBeDefined();
      const { workerIndex: killed, promptId: target } = victim as { workerIndex: number; promptId: string };
      expect(result.lostWorkers).toBe(1);
      // The in-flight prompt was started twice: on the killed worker, then (attempt 2) on another one.
      const starts = startedEvents.filter((event) => event.promptId === target);
      expect(starts.map((event) => event.attempt)).toEqual([1, 2]);
      expect(starts[0]?.workerIndex).toBe(killed);
      expect(starts[1]?.workerIndex).not.toBe(killed);
      // Its group arrived exactly once, from the worker that retried it.
      const targetGroups = groupEvents.filter((event) => event.promptId === target);
      expect(targetGroups).toEqual([{ promptId: target, workerIndex: starts[1]?.workerIndex }]);
      // Every prompt has exactly one group, in prompt order; the killed worker's completed groups are kept.
      expect(result.groups.map((group) => group.promptId)).toEqual(
        prompts(6).map((prompt) => prompt.promptId),
      );
      for (const group of result.groups) expect(group.trajectories.length).toBeGreaterThanOrEqual(2);
      const completedByKilled = delivered.get(killed)?.promptIds ?? [];
      expect(completedByKilled.length).toBeGreaterThanOrEqual(1);
      expect(completedByKilled).not.toContain(target);
      const lines = (await readFile(resultsFile, 'utf8')).trim().split('\n');
      const fileIds = lines.map((line) => rolloutGroupFromLine(line).promptId);
      expect([...fileIds].sort()).toEqual(
        prompts(6)
          .map((prompt) => prompt.promptId)
          .sort(),
      );
      for (const promptId of completedByKilled)
        expect(fileIds.filter((id) => id === promptId)).toHaveLength(1);
      const first = result.groups[0];
      const fromFile = lines.map(rolloutGroupFromLine).find((group) => group.promptId === first?.promptId);
      expect(Array.from(fromFile?.trajectories[0]?.logprobs ?? [])).toEqual(
        Array.from(first?.trajectories[0]?.logprobs ?? []),
      );
    } finally {
      await proxy.close();
    }

    // Running again with the same file and more prompts rolls out only the new ones.
    const again = await runDistributedRollouts({
      prompts: prompts(7),
      settings: { seed: 5, maxResponseTokens: 48, maxTurnTokens: 16, maxToolCalls: 2 },
      sampler: { kind: 'arpo', arpo: { trajectories: 4, initial: 2 } },
      setup: { module: setupModule, options: { endpoints: [servers[0]?.baseUrl], model: 'tiny' } },
      workers: 2,
      resultsFile,
      execArgv,
    });
    expect(again.resumed).toBe(6);
    expect(again.groups).toHaveLength(7);
    expect((await readFile(resultsFile, 'utf8')).trim().split('\n')).toHaveLength(7);
  }, 180_000);
});
