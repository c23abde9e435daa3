import { RemotePolicy } from '@arpo/policy';
import { createOpenAiServer, type OpenAiServer } from '@arpo/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvaluation } from '../src/runner/run-evaluation.js';
import { createSumAgent, sumItems } from './support/scripted-setup.js';
import { createTinyPolicy, noToolsProtocol } from './support/tiny-policy.js';

let tiny: Awaited<ReturnType<typeof createTinyPolicy>>;
let nativeServer: OpenAiServer;
let agentServer: OpenAiServer;
const agent = createSumAgent();

beforeAll(async () => {
  tiny = await createTinyPolicy();
  nativeServer = await createOpenAiServer({
    policy: tiny.policy,
    modelId: 'tiny',
    host: '127.0.0.1',
    port: 0,
  });
  agentServer = await createOpenAiServer({
    policy: agent.policy,
    modelId: 'agent',
    host: '127.0.0.1',
    port: 0,
  });
});
afterAll(async () => {
  await nativeServer.close();
  await agentServer.close();
  await tiny.policy.close?.();
});

describe('runEvaluation through an OpenAI-compatible server on loopback (RemotePolicy)', () => {
  it('evaluates a real model served over HTTP exactly like the same model in process', async () => {
    const remote = await RemotePolicy.create({
      endpoints: nativeServer.baseUrl,
      model: 'tiny',
      tokenizer: tiny.tokenizer,
    });
    const options = {
      protocol: noToolsProtocol,
      dataset: sumItems(3),
      samples: 2,
      systemPrompt: null,
      settings: { seed: 9, maxResponseTokens: 10 },
    };
    const overHttp = await runEvaluation({ ...options, policy: remote, concurrency: 3 });
    const inProcess = await runEvaluation({ ...options, policy: tiny.policy });
    expect(overHttp.records).toHaveLength(6);
    expect(nativeServer.statistics().httpRequests).toBeGreaterThanOrEqual(6);
    expect(overHttp.records.map((record) => record.tokens.model)).toEqual(
      inProcess.records.map((record) => record.tokens.model),
    );
    expect(overHttp.records.map((record) => record.response)).toEqual(
      inProcess.records.map((record) => record.response),
    );
    await remote.close?.();
  });

  it('runs the multi-turn tool loop against a served agent and scores it', async () => {
    const remote = await RemotePolicy.create({
      endpoints: agentServer.baseUrl,
      model: 'agent',
      tokenizer: agent.policy.tokenizer,
    });
    const result = await runEvaluation({
      policy: remote,
      tools: agent.tools,
      protocol: agent.protocol,
      dataset: sumItems(4),
      samples: 3,
      concurrency: 4,
      settings: { seed: 7, maxResponseTokens: 200 },
    });
    expect(result.records).toHaveLength(12);
    expect(result.summary.toolUsage.perTool.python?.calls).toBe(12);
    const inProcess = await runEvaluation({
      ...createSumAgent(),
      dataset: sumItems(4),
      samples: 3,
      settings: { seed: 7, maxResponseTokens: 200 },
    });
    expect(result.records.map((record) => [record.response, record.correct])).toEqual(
      inProcess.records.map((record) => [record.response, record.correct]),
    );
    expect(result.summary.accuracy.estimate).toBeGreaterThan(0);
    await remote.close?.();
  });
});
