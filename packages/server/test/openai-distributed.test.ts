import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolloutGroupFromLine, runDistributedRollouts } from '@arpo/rollout';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiServer, type OpenAiServer } from '../src/index.js';
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

describe('distributed rollouts in worker processes against OpenAI endpoints', () => {
  it('loses no completed group when a worker is killed, and resumes from the results file', async () => {
    const resultsFile = join(directory, 'kill.jsonl');
    const arrivals: { promptId: string; workerIndex: number }[] = [];
    let killed: number | undefined;
    const result = await runDistributedRollouts({
      prompts: prompts(8),
      settings: { seed: 5, maxResponseTokens: 48, maxTurnTokens: 16, maxToolCalls: 2 },
      sampler: { kind: 'arpo', arpo: { trajectories: 4, initial: 2 } },
      setup: {
        module: setupModule,
        options: { endpoints: servers.map((server) => server.baseUrl), model: 'tiny', delayMs: 50 },
      },
      workers: 3,
      resultsFile,
      execArgv,
      onGroup: ({ group, workerIndex, pid }) => {
        arrivals.push({ promptId: group.promptId, workerIndex });
        // A real SIGKILL of the worker that delivered the first group, while it runs its next prompt.
        if (killed === undefined && pid !== undefined) {
          killed = workerIndex;
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    expect(result.lostWorkers).toBe(1);
    expect(result.groups.map((group) => group.promptId)).toEqual(prompts(8).map((prompt) => prompt.promptId));
    for (const group of result.groups) expect(group.trajectories.length).toBeGreaterThanOrEqual(2);
    // The group the killed worker completed is kept; every group is in the file exactly once.
    expect(arrivals.filter((arrival) => arrival.workerIndex === killed).length).toBeGreaterThanOrEqual(1);
    const lines = (await readFile(resultsFile, 'utf8')).trim().split('\n');
    expect(lines.map((line) => rolloutGroupFromLine(line).promptId).sort()).toEqual(
      prompts(8)
        .map((prompt) => prompt.promptId)
        .sort(),
    );
    const first = result.groups[0];
    const fromFile = lines.map(rolloutGroupFromLine).find((group) => group.promptId === first?.promptId);
    expect(Array.from(fromFile?.trajectories[0]?.logprobs ?? [])).toEqual(
      Array.from(first?.trajectories[0]?.logprobs ?? []),
    );

    // Running again with the same file and more prompts rolls out only the new ones.
    const again = await runDistributedRollouts({
      prompts: prompts(9),
      settings: { seed: 5, maxResponseTokens: 48, maxTurnTokens: 16, maxToolCalls: 2 },
      sampler: { kind: 'arpo', arpo: { trajectories: 4, initial: 2 } },
      setup: { module: setupModule, options: { endpoints: [servers[0]?.baseUrl], model: 'tiny' } },
      workers: 2,
      resultsFile,
      execArgv,
    });
    expect(again.resumed).toBe(8);
    expect(again.groups).toHaveLength(9);
    expect((await readFile(resultsFile, 'utf8')).trim().split('\n')).toHaveLength(9);
  });
});
