import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@arpo/core';
import type { Command } from '../command.js';
import { runComparison } from '../main-job/comparison.js';
import { type AlgorithmName, defaultRunConfig } from '../run-config/run-config.js';
import { algorithmFlag, integerFlag, resolveRunConfig, runFlagOptions, runFlagsUsage } from './run-flags.js';

export const compareCommand: Command = {
  name: 'compare',
  summary:
    'Fair algorithm comparison: each algorithm trains from the same SFT checkpoint with the same budget and seeds',
  usage: `arpo compare [--algos grpo,dapo,arpo] [--seeds 3 | --seed-list 1,2,3] ${runFlagsUsage}\n\nWrites report.json, report.md and report.html (curves, pass@k, rollout trees) to --out (default runs/compare). Resumable.`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        ...runFlagOptions,
        algos: { type: 'string' },
        seeds: { type: 'string' },
        'seed-list': { type: 'string' },
      },
      strict: true,
    });
    const algorithms = (values.algos ?? 'grpo,dapo,arpo')
      .split(',')
      .map((name) => algorithmFlag(name.trim()) as AlgorithmName);
    if (new Set(algorithms).size !== algorithms.length) {
      throw new InvalidArgumentError({
        argument: '--algos',
        message: `lists an algorithm twice: ${values.algos}`,
      });
    }
    const config = await resolveRunConfig({ values, cwd: io.cwd, base: defaultRunConfig });
    let seeds: number[];
    if (values['seed-list'] !== undefined) {
      seeds = values['seed-list'].split(',').map((seed) => integerFlag(seed.trim(), 'seed-list') as number);
    } else {
      const count = integerFlag(values.seeds, 'seeds') ?? 3;
      if (count < 1) throw new InvalidArgumentError({ argument: '--seeds', message: 'must be at least 1' });
      seeds = Array.from({ length: count }, (_, index) => config.seed + index);
    }
    const directory = resolve(io.cwd, values.out ?? 'runs/compare');
    const data = await runComparison({
      config,
      algorithms,
      seeds,
      directory,
      command: `arpo compare ${args.join(' ')}`.trim(),
      log: (line) => io.out(`${line}\n`),
    });
    const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
    io.out(`\nHeld-out accuracy (sampled, mean over ${seeds.length} seeds, 95% bootstrap CI):\n`);
    for (const algorithm of data.algorithms) {
      const { accuracy } = algorithm.evaluation;
      const interval = accuracy.interval
        ? ` [${percent(accuracy.interval.lower)}, ${percent(accuracy.interval.upper)}]`
        : '';
      const passAt = algorithm.evaluation.passAtK
        .map((entry) => `pass@${entry.k} ${percent(entry.mean)}`)
        .join(', ');
      io.out(
        `  ${algorithm.name.padEnd(5)} ${percent(accuracy.mean)}${interval}, ${passAt}, tool calls/sample ${algorithm.evaluation.toolCallsPerSample.toFixed(2)}, training ${algorithm.evaluation.wallTimeSeconds.training?.toFixed(0)} s\n`,
      );
    }
    io.out(`Reports: ${join(directory, 'report.html')}, report.md, report.json\n`);
    return 0;
  },
};
