import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { checkSavedTokenizer, createEmbeddedSetup, saveTokenizer } from '../main-job/embedded-setup.js';
import { claimRunDirectory, formatEvaluation } from '../main-job/main-job.js';
import { evaluationPhase, sftPhase, writeJsonAtomic } from '../main-job/phases.js';
import { phaseEvents, trimMetricsForResume } from '../main-job/run-metrics.js';
import { defaultRunConfig } from '../run-config/run-config.js';
import { resolveRunConfig, runFlagOptions, runFlagsUsage } from './run-flags.js';

export const sftCommand: Command = {
  name: 'sft',
  summary:
    'SFT cold start: train a small policy on teacher demonstrations of the built-in tasks, then evaluate it',
  usage: `arpo sft ${runFlagsUsage}\n\nWrites config.json, tokenizer/, checkpoints/sft, sft-state.json and an evaluation to --out (default runs/sft-seed<N>); 'arpo train --from DIR' continues from it.`,
  async run(args, io) {
    const { values } = parseArgs({ args, options: runFlagOptions, strict: true });
    const config = await resolveRunConfig({ values, cwd: io.cwd, base: defaultRunConfig });
    const directory = resolve(io.cwd, values.out ?? `runs/sft-seed${config.seed}`);
    const log = (line: string) => io.out(`${line}\n`);
    if (await claimRunDirectory(directory, config))
      await trimMetricsForResume(directory, { redone: ['after-sft'] });
    const setup = await createEmbeddedSetup({ config, directory, log });
    try {
      const tokenizerFolder = join(directory, 'tokenizer');
      if (existsSync(join(tokenizerFolder, 'tokenizer.json')))
        await checkSavedTokenizer(setup, tokenizerFolder);
      else await saveTokenizer(setup, tokenizerFolder);
      const sft = await sftPhase({ setup, directory, log, events: phaseEvents(directory, 'sft') });
      const evaluation = await evaluationPhase({
        setup,
        directory,
        name: 'after-sft',
        step: 0,
        events: phaseEvents(directory, 'after-sft'),
      });
      log(`Evaluation after SFT: ${formatEvaluation(evaluation, config)}`);
      await writeJsonAtomic(join(directory, 'summary.json'), { sft, evaluation });
      log(`Run files: ${directory}. Next: arpo train --from ${directory} --algo arpo`);
      return 0;
    } finally {
      await setup.close();
    }
  },
};
