import type { RolloutGroup } from '@arpo/core';
import { RemotePolicy } from '@arpo/policy';
import { type ArpoSamplerOptions, rolloutGroupToJson, sampleArpo } from '@arpo/rollout';
import { describe, expect, it } from 'vitest';
import { createOpenAiServer, type OpenAiServer } from '../src/index.js';
import { createEchoTool, echoProtocol } from './support-openai/echo-protocol.js';
import { createTinyPolicy } from './support-openai/tiny-policy.js';

// Acceptance: with a fixed seed, an ARPO rollout through RemotePolicy against the server yields exactly the
// trees of the same rollout against the in-process policy. Each comparison starts both policies fresh: the
// keys/values a prefix cache holds depend (in the last float bit) on whether they were computed by a prefill or
// by decode steps, so a server warmed by unrelated earlier requests may differ from a cold in-process policy
// by ~1e-7 in logprobs (see the package README).

async function rollout(
  policy: RemotePolicy | Awaited<ReturnType<typeof createTinyPolicy>>['policy'],
  arpo: ArpoSamplerOptions,
) {
  const { tokenizer } = policy;
  const prompts = ['say one', 'tell two', 'go three'].map((text, index) => ({
    promptId: `p${index}`,
    promptTokenIds: tokenizer.encode(text, { addSpecialTokens: true }),
  }));
  return sampleArpo({
    environment: { policy, tools: [createEchoTool()], protocol: echoProtocol },
    prompts,
    settings: { seed: 11, maxResponseTokens: 64, maxTurnTokens: 24, maxToolCalls: 3 },
    arpo,
  });
}

function comparable(groups: RolloutGroup[], tokenizer: RemotePolicy['tokenizer']) {
  return groups.map((group) => ({
    tree: rolloutGroupToJson(group, { tokenizer }),
    trajectories: group.trajectories.map((trajectory) => ({
      tokens: Array.from(trajectory.responseTokenIds),
      logprobs: Array.from(trajectory.logprobs),
      lossMask: Array.from(trajectory.lossMask),
      finishReason: trajectory.finishReason,
    })),
  }));
}

describe('ARPO rollouts through RemotePolicy', () => {
  for (const arpo of [
    { mode: 'reference', trajectories: 6, initial: 3, alpha: 0.6 },
    { mode: 'paper', trajectories: 6, initial: 3, threshold: 0.4, alpha: 0.5, beta: 0.5 },
  ] satisfies ArpoSamplerOptions[]) {
    it(`gives exactly the in-process trees (${arpo.mode} mode)`, async () => {
      const served = await createTinyPolicy();
      const server: OpenAiServer = await createOpenAiServer({ policy: served.policy, modelId: 'tiny' });
      const { policy: local, tokenizer } = await createTinyPolicy();
      const remote = await RemotePolicy.create({ endpoints: server.baseUrl, model: 'tiny', tokenizer });
      const expected = comparable(await rollout(local, arpo), tokenizer);
      const actual = comparable(await rollout(remote, arpo), tokenizer);
      await local.close();
      await server.close();
      await served.policy.close();
      // The check must have something to compare: tool calls and forks happened.
      const forks = expected.flatMap((group) => group.tree.nodes.filter((node) => node.fork !== undefined));
      expect(forks.length).toBeGreaterThan(0);
      expect(expected.some((group) => group.tree.statistics.toolCalls > 0)).toBe(true);
      expect(actual.map((group) => ({ ...group, tree: { ...group.tree, statistics: undefined } }))).toEqual(
        expected.map((group) => ({ ...group, tree: { ...group.tree, statistics: undefined } })),
      );
      // Token accounting: the same work, and what the server's prefix cache reused is reported back.
      actual.forEach((group, index) => {
        const reference = expected[index]?.tree.statistics;
        expect(group.tree.statistics.toolCalls).toBe(reference?.toolCalls);
        expect(group.tree.statistics.rounds).toBe(reference?.rounds);
        expect(group.tree.statistics.reusedTokens).toBeGreaterThan(0);
      });
    });
  }
});
