import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@arpo/core';
import type { Command } from '../command.js';
import { checkSavedTokenizer, createEmbeddedSetup, saveTokenizer } from '../main-job/embedded-setup.js';
import { claimRunDirectory, formatEvaluation } from '../main-job/main-job.js';
import { evaluationPhase, readJson, rlPhase, type SftState, writeJsonAtomic } from '../main-job/phases.js';
import { createProgressReporter } from '../main-job/progress.js';
import { phaseEvents, trimMetricsForResume } from '../main-job/run-metrics.js';
import type { RunConfig } from '../run-config/run-config.js';
import { resolveRunConfig, runFlagOptions, runFlagsUsage } from './run-flags.js';

/** Reads the config of a run directory written by `arpo sft`, `arpo train` or `arpo demo`. */
export async function readRunConfig(directory: string): Promise<RunConfig> {
  const path = join(directory, 'config.json');
  if (!existsSync(path)) {
    throw new InvalidArgumentError({
      argument: '--from',
      message: `${path} does not exist: --from must be a run directory written by 'arpo sft' or 'arpo demo'`,
    });
  }
  return readJson<RunConfig>(path);
}

/** The sections RL cannot change: they define the tasks, tokenizer and model the checkpoint belongs to. */
const fixedSections = ['seed', 'tasks', 'model', 'sft'] as const;

export const trainCommand: Command = {
  name: 'train',
  summary: 'RL from an SFT run with GRPO, DAPO or ARPO; checkpoints every few steps, resumes when re-run',
  usage: `arpo train --from SFT_DIR ${runFlagsUsage}\n\nOnly rl.* and evaluation.* settings may differ from the SFT run. Output: --out (default runs/train-<algo>-seed<N>).`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { ...runFlagOptions, from: { type: 'string' } },
      strict: true,
    });
    if (values.from === undefined) {
      throw new InvalidArgumentError({ argument: '--from', message: 'is required: the SFT run directory' });
    }
    const from = resolve(io.cwd, values.from);
    const base = await readRunConfig(from);
    const config = await resolveRunConfig({
      values,
      cwd: io.cwd,
      base,
      baseSource: join(from, 'config.json'),
    });
    for (const section of fixedSections) {
      if (JSON.stringify(config[section]) !== JSON.stringify(base[section])) {
        throw new InvalidArgumentError({
          argument: section,
          message: `'${section}' differs from the SFT run in ${from}; RL may change only rl.* and evaluation.*`,
        });
      }
    }
    const sftStatePath = join(from, 'sft-state.json');
    if (!existsSync(sftStatePath)) {
      throw new InvalidArgumentError({
        argument: '--from',
        message: `${sftStatePath} is missing: SFT did not finish`,
      });
    }
    const sftState = await readJson<SftState>(sftStatePath);
    const directory = resolve(io.cwd, values.out ?? `runs/train-${config.rl.algorithm}-seed${config.seed}`);
    const log = (line: string) => io.out(`${line}\n`);
    if (await claimRunDirectory(directory, config)) await trimMetricsForResume(directory);
    const setup = await createEmbeddedSetup({ config, directory, log });
    try {
      await checkSavedTokenizer(setup, join(from, 'tokenizer'));
      await saveTokenizer(setup, join(directory, 'tokenizer'));
      await setup.backend.loadState(sftState.checkpoint);
      log(`Starting from ${sftState.checkpoint}.`);
      const rl = await rlPhase({
        setup,
        directory,
        events: phaseEvents(directory, 'rl'),
        log,
        progress: createProgressReporter({
          label: `${config.rl.algorithm} step`,
          total: config.rl.steps,
          write: io.out,
          live: io.terminal === true,
        }),
      });
      const evaluation = await evaluationPhase({
        setup,
        directory,
        name: `after-${config.rl.algorithm}`,
        step: config.rl.steps,
        events: phaseEvents(directory, `after-${config.rl.algorithm}`),
      });
      log(`Evaluation after ${config.rl.algorithm}: ${formatEvaluation(evaluation, config)}`);
      await writeJsonAtomic(join(directory, 'summary.json'), { from, rl, evaluation });
      log(`Run files: ${directory}`);
      return 0;
    } finally {
      await setup.close();
    }
  },
};
