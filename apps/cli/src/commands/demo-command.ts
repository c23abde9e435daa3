import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { runMainJob } from '../main-job/main-job.js';
import { defaultRunConfig } from '../run-config/run-config.js';
import { resolveRunConfig, runFlagOptions, runFlagsUsage } from './run-flags.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'The main job: SFT a small tool-using policy, evaluate, train it with ARPO, evaluate again',
  usage: `arpo demo ${runFlagsUsage}\n\nRe-running with the same --out and settings resumes an interrupted run.`,
  async run(args, io) {
    const { values } = parseArgs({ args, options: runFlagOptions, strict: true });
    const config = await resolveRunConfig({ values, cwd: io.cwd, base: defaultRunConfig });
    const directory = resolve(io.cwd, values.out ?? `runs/demo-${config.rl.algorithm}-seed${config.seed}`);
    io.out(
      'ARPO.ts main job on the embedded default (in-process CPU training; no downloads).\n' +
        'Pipeline: tasks -> teacher demonstrations -> tokenizer -> SFT -> evaluation -> RL -> evaluation.\n\n',
    );
    const summary = await runMainJob({
      config,
      directory,
      log: (line) => io.out(`${line}\n`),
      write: io.out,
      live: io.terminal === true,
    });
    const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
    io.out(
      `\nHeld-out accuracy (greedy / sampled at T=${config.evaluation.temperature}):\n` +
        `  after SFT:  ${percent(summary.before.accuracy)} / ${percent(summary.before.sampledAccuracy)}, tool use ${percent(summary.before.toolUse)}, tool calls/sample ${summary.before.toolCallsPerSample.toFixed(2)}\n` +
        `  after ${summary.algorithm}: ${percent(summary.after.accuracy)} / ${percent(summary.after.sampledAccuracy)}, tool use ${percent(summary.after.toolUse)}, tool calls/sample ${summary.after.toolCallsPerSample.toFixed(2)}\n` +
        `Total time ${summary.seconds.total.toFixed(0)} s. Run files: ${summary.directory}\n`,
    );
    return 0;
  },
};
