import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type DatasetFormat,
  type KnownAdapterName,
  knownAdapterNames,
  type LoadBenchmarkOptions,
} from '@arpo/bench';
import { InvalidArgumentError } from '@arpo/core';
import type { Command } from '../command.js';
import { runComparison } from '../main-job/comparison.js';
import { type AlgorithmName, defaultRunConfig } from '../run-config/run-config.js';
import { algorithmFlag, integerFlag, resolveRunConfig, runFlagOptions, runFlagsUsage } from './run-flags.js';

export const compareCommand: Command = {
  name: 'compare',
  summary:
    'Fair algorithm comparison: each algorithm trains from the same SFT checkpoint with the same budget and seeds',
  usage: `arpo compare [--algos grpo,dapo,arpo] [--seeds 3 | --seed-list 1,2,3] [--dataset FILE [--format jsonl|json|parquet] [--adapter NAME] [--limit N]] ${runFlagsUsage}\n\nEvaluates with @arpo/bench (default scorer, pass@k and bootstrap CIs) on the held-out built-in tasks, or on --dataset (JSONL / JSON / Parquet; adapter ${knownAdapterNames.join('|')}, guessed from the path by default). Writes report.json, report.md and report.html (curves, pass@k, rollout trees) to --out (default runs/compare). Resumable.`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        ...runFlagOptions,
        algos: { type: 'string' },
        seeds: { type: 'string' },
        'seed-list': { type: 'string' },
        dataset: { type: 'string' },
        format: { type: 'string' },
        adapter: { type: 'string' },
        limit: { type: 'string' },
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
    const dataset = datasetFlags(values, io.cwd);
    const data = await runComparison({
      config,
      algorithms,
      seeds,
      directory,
      ...(dataset === undefined ? {} : { dataset }),
      command: `arpo compare ${args.join(' ')}`.trim(),
      log: (line) => io.out(`${line}\n`),
    });
    const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
    io.out(
      `\n${dataset === undefined ? 'Held-out' : dataset.path} accuracy (sampled, mean over ${seeds.length} seeds, 95% bootstrap CI):\n`,
    );
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

const datasetFormats: readonly DatasetFormat[] = ['jsonl', 'json', 'parquet'];

/** `--dataset FILE [--format] [--adapter] [--limit]` as `loadBenchmark` options; undefined without `--dataset`. */
function datasetFlags(
  values: { dataset?: string; format?: string; adapter?: string; limit?: string },
  cwd: string,
): LoadBenchmarkOptions | undefined {
  if (values.dataset === undefined) {
    for (const flag of ['format', 'adapter', 'limit'] as const) {
      if (values[flag] !== undefined)
        throw new InvalidArgumentError({ argument: `--${flag}`, message: 'needs --dataset FILE' });
    }
    return undefined;
  }
  if (values.format !== undefined && !(datasetFormats as readonly string[]).includes(values.format)) {
    throw new InvalidArgumentError({
      argument: '--format',
      message: `must be one of ${datasetFormats.join(', ')}, got '${values.format}'`,
    });
  }
  if (values.adapter !== undefined && !(knownAdapterNames as readonly string[]).includes(values.adapter)) {
    throw new InvalidArgumentError({
      argument: '--adapter',
      message: `must be one of ${knownAdapterNames.join(', ')}, got '${values.adapter}'`,
    });
  }
  const limit = integerFlag(values.limit, 'limit');
  if (limit === 0) throw new InvalidArgumentError({ argument: '--limit', message: 'must be at least 1' });
  return {
    path: resolve(cwd, values.dataset),
    ...(values.format === undefined ? {} : { format: values.format as DatasetFormat }),
    ...(values.adapter === undefined ? {} : { adapter: values.adapter as KnownAdapterName }),
    ...(limit === undefined ? {} : { limit }),
  };
}
