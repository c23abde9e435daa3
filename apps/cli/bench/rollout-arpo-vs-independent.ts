// Benchmark: an ARPO group (M = 16, N = 8) against 16 independent trajectories on the same prompts, with the real
// native policy (SFT'd on the built-in arithmetic demonstrations first) and the real Pyodide tool.
// Run: pnpm --filter @arpo/cli bench:rollout  (options: --prompts N --sft-epochs N --seed N --mode reference|paper)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RolloutGroup } from '@arpo/core';
import { promptFromTask, sampleArpo, sampleIndependent } from '@arpo/rollout';
import { createEmbeddedSetup, runSftPhase } from '../src/main-job/embedded-setup.js';
import { defaultRunConfig, mergeRunConfig } from '../src/run-config/run-config.js';

const { values } = parseArgs({
  options: {
    prompts: { type: 'string', default: '8' },
    'sft-epochs': { type: 'string', default: '6' },
    seed: { type: 'string', default: '1' },
    mode: { type: 'string', default: 'reference' },
  },
});
const seed = Number(values.seed);
const config = mergeRunConfig(defaultRunConfig, { seed, sft: { epochs: Number(values['sft-epochs']) } });
const setup = await createEmbeddedSetup({
  config,
  directory: mkdtempSync(join(tmpdir(), 'arpo-bench-rollout-')),
  log: (line) => console.log(line),
});
try {
  await runSftPhase(setup, { log: (line) => console.log(line) });
  const prompts = setup.test
    .slice(0, Number(values.prompts))
    .map((task) => promptFromTask(task, setup.tokenizer));
  const environment = { policy: setup.policy, tools: [setup.python], protocol: setup.protocol };
  const settings = { seed: seed + 1, temperature: 1, maxResponseTokens: 160 };

  const summarize = (groups: RolloutGroup[], seconds: number) => {
    const trajectories = groups.flatMap((group) => group.trajectories);
    const inTrajectories = trajectories.reduce(
      (sum, trajectory) => sum + (trajectory.metrics.toolCalls ?? 0),
      0,
    );
    return {
      trajectories: trajectories.length,
      computed: groups.reduce((sum, group) => sum + group.statistics.computedTokens, 0),
      reused: groups.reduce((sum, group) => sum + group.statistics.reusedTokens, 0),
      executedCalls: groups.reduce((sum, group) => sum + group.statistics.toolCalls, 0),
      callsInTrajectories: inTrajectories,
      responseTokens: trajectories.reduce((sum, trajectory) => sum + trajectory.responseTokenIds.length, 0),
      seconds,
    };
  };
  const time = async (run: () => Promise<RolloutGroup[]>) => {
    setup.policy.setParameters(setup.parameters); // same cold prefix cache for both samplers
    const started = performance.now();
    const groups = await run();
    return summarize(groups, (performance.now() - started) / 1000);
  };
  const independent = await time(() => sampleIndependent({ environment, prompts, n: 16, settings }));
  const arpo = await time(() =>
    sampleArpo({
      environment,
      prompts,
      settings,
      arpo: { mode: values.mode as 'reference' | 'paper', trajectories: 16, initial: 8 },
    }),
  );
  const rows: [string, (entry: typeof arpo) => number | string][] = [
    ['trajectories', (entry) => entry.trajectories],
    ['response tokens (model + tool)', (entry) => entry.responseTokens],
    ['tokens computed by the policy', (entry) => entry.computed],
    ['prompt tokens reused from cache', (entry) => entry.reused],
    ['tool calls executed', (entry) => entry.executedCalls],
    ['tool calls in trajectories', (entry) => entry.callsInTrajectories],
    ['wall time (s)', (entry) => entry.seconds.toFixed(2)],
  ];
  console.log(
    `\n${prompts.length} prompts, ARPO ${values.mode} mode (M = 16, N = 8, Z = 1) vs 16 independent trajectories:`,
  );
  console.log('| measure | 16 independent | ARPO M=16 N=8 | ARPO / independent |');
  console.log('|---|---|---|---|');
  for (const [name, get] of rows) {
    const a = Number(get(independent));
    const b = Number(get(arpo));
    console.log(`| ${name} | ${get(independent)} | ${get(arpo)} | ${a === 0 ? '-' : (b / a).toFixed(2)} |`);
  }
} finally {
  await setup.close();
}
