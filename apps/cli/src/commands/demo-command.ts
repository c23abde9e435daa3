import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@arpo/core';
import type { Command } from '../command.js';
import { defaultMainJobOptions, type MainJobOptions, runMainJob } from '../main-job/main-job.js';

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) {
    throw new InvalidArgumentError({
      argument: `--${name}`,
      message: `must be a non-negative integer, got '${value}'`,
    });
  }
  return number;
}

function positiveNumber(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!(number > 0))
    throw new InvalidArgumentError({
      argument: `--${name}`,
      message: `must be a positive number, got '${value}'`,
    });
  return number;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'The main job: SFT a small tool-using policy, evaluate, train it with ARPO, evaluate again',
  usage:
    'arpo demo [--algo arpo|grpo|dapo] [--seed N] [--out DIR] [--rl-steps N] [--sft-epochs N] [--train-tasks N] [--test-tasks N] [--rl-learning-rate X]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        algo: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        'rl-steps': { type: 'string' },
        'sft-epochs': { type: 'string' },
        'train-tasks': { type: 'string' },
        'test-tasks': { type: 'string' },
        'rl-learning-rate': { type: 'string' },
      },
      strict: true,
    });
    const algorithm = (values.algo ?? defaultMainJobOptions.algorithm) as MainJobOptions['algorithm'];
    if (!['arpo', 'grpo', 'dapo'].includes(algorithm)) {
      throw new InvalidArgumentError({
        argument: '--algo',
        message: `must be arpo, grpo or dapo, got '${algorithm}'`,
      });
    }
    const seed = positiveInteger(values.seed, 'seed', defaultMainJobOptions.seed);
    const directory = resolve(io.cwd, values.out ?? `runs/demo-${algorithm}-seed${seed}`);
    io.out(
      'ARPO.ts main job on the embedded default (in-process CPU training; no downloads).\n' +
        'Pipeline: tasks -> teacher demonstrations -> BPE tokenizer -> SFT -> evaluation -> RL -> evaluation.\n\n',
    );
    const summary = await runMainJob({
      ...defaultMainJobOptions,
      algorithm,
      seed,
      directory,
      rlSteps: positiveInteger(values['rl-steps'], 'rl-steps', defaultMainJobOptions.rlSteps),
      sftEpochs: positiveInteger(values['sft-epochs'], 'sft-epochs', defaultMainJobOptions.sftEpochs),
      trainTasks: positiveInteger(values['train-tasks'], 'train-tasks', defaultMainJobOptions.trainTasks),
      testTasks: positiveInteger(values['test-tasks'], 'test-tasks', defaultMainJobOptions.testTasks),
      rlLearningRate: positiveNumber(
        values['rl-learning-rate'],
        'rl-learning-rate',
        defaultMainJobOptions.rlLearningRate,
      ),
      log: (line) => io.out(`${line}\n`),
    });
    const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
    io.out(
      `\nHeld-out accuracy (greedy / sampled at T=1):\n` +
        `  after SFT:  ${percent(summary.before.accuracy)} / ${percent(summary.before.sampledAccuracy)}, tool use ${percent(summary.before.toolUse)}\n` +
        `  after ${summary.algorithm}: ${percent(summary.after.accuracy)} / ${percent(summary.after.sampledAccuracy)}, tool use ${percent(summary.after.toolUse)}\n` +
        `Total time ${summary.seconds.total.toFixed(0)} s. Run files: ${summary.directory}\n`,
    );
    return 0;
  },
};
