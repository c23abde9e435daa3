import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@arpo/core';
import type { Command } from '../command.js';
import { checkSavedTokenizer, createEmbeddedSetup } from '../main-job/embedded-setup.js';
import { formatEvaluation } from '../main-job/main-job.js';
import { evaluationPhase, readJson } from '../main-job/phases.js';
import { mergeRunConfig } from '../run-config/run-config.js';
import { integerFlag, positiveNumberFlag } from './run-flags.js';
import { readRunConfig } from './train-command.js';

/** The newest checkpoint of a run: RL's last, else SFT's. */
export async function latestCheckpoint(directory: string): Promise<string> {
  for (const file of ['training-state.json', 'sft-state.json']) {
    const path = join(directory, file);
    if (existsSync(path)) return (await readJson<{ checkpoint: string }>(path)).checkpoint;
  }
  throw new InvalidArgumentError({
    argument: '--from',
    message: `${directory} has no training-state.json or sft-state.json: nothing to evaluate`,
  });
}

export const evalCommand: Command = {
  name: 'eval',
  summary: "Evaluate a run's checkpoint on the held-out tasks (greedy and sampled accuracy, tool statistics)",
  usage:
    'arpo eval --from RUN_DIR [--checkpoint NAME|PATH] [--samples N] [--temperature X] [--max-response-tokens N]\n\nDefault checkpoint: the newest (RL, else SFT). Writes evaluation-<checkpoint>.json and transcripts to RUN_DIR.',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        checkpoint: { type: 'string' },
        samples: { type: 'string' },
        temperature: { type: 'string' },
        'max-response-tokens': { type: 'string' },
      },
      strict: true,
    });
    if (values.from === undefined) {
      throw new InvalidArgumentError({ argument: '--from', message: 'is required: a run directory' });
    }
    const directory = resolve(io.cwd, values.from);
    const samples = integerFlag(values.samples, 'samples');
    const temperature = positiveNumberFlag(values.temperature, 'temperature');
    const maxResponseTokens = integerFlag(values['max-response-tokens'], 'max-response-tokens');
    const config = mergeRunConfig(await readRunConfig(directory), {
      evaluation: {
        ...(samples === undefined ? {} : { samples }),
        ...(temperature === undefined ? {} : { temperature }),
        ...(maxResponseTokens === undefined ? {} : { maxResponseTokens }),
      },
    });
    let checkpoint = await latestCheckpoint(directory);
    if (values.checkpoint !== undefined) {
      checkpoint = existsSync(resolve(io.cwd, values.checkpoint))
        ? resolve(io.cwd, values.checkpoint)
        : join(directory, 'checkpoints', values.checkpoint);
      if (!existsSync(checkpoint)) {
        throw new InvalidArgumentError({ argument: '--checkpoint', message: `${checkpoint} does not exist` });
      }
    }
    const log = (line: string) => io.out(`${line}\n`);
    const setup = await createEmbeddedSetup({ config, directory, log });
    try {
      await checkSavedTokenizer(setup, join(directory, 'tokenizer'));
      await setup.backend.loadState(checkpoint);
      const name = `eval-${basename(checkpoint)}`;
      const evaluation = await evaluationPhase({ setup, directory, name, step: 0 });
      log(`Evaluation of ${checkpoint}: ${formatEvaluation(evaluation, config)}`);
      log(`Saved ${join(directory, `evaluation-${name}.json`)} and transcripts-${name}.jsonl`);
      return 0;
    } finally {
      await setup.close();
    }
  },
};
