import { resolve } from 'node:path';
import { InvalidArgumentError, type KlEstimator, ValidationError } from '@arpo/core';
import { configFieldLine, loadConfigFile } from '../config/load-config-file.js';
import {
  type AlgorithmName,
  algorithmNames,
  klEstimatorNames,
  mergeRunConfig,
  type RunConfig,
  type RunConfigInput,
  runConfigSchema,
} from '../run-config/run-config.js';

/** `parseArgs` options shared by the commands that build or train a run. */
export const runFlagOptions = {
  config: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  algo: { type: 'string' },
  'rl-steps': { type: 'string' },
  'sft-epochs': { type: 'string' },
  'train-tasks': { type: 'string' },
  'test-tasks': { type: 'string' },
  'multi-hop-train': { type: 'string' },
  'multi-hop-test': { type: 'string' },
  'rl-learning-rate': { type: 'string' },
  'kl-coefficient': { type: 'string' },
  'kl-estimator': { type: 'string' },
  'entropy-coefficient': { type: 'string' },
} as const;

export type RunFlagValues = { [K in keyof typeof runFlagOptions]?: string };

export const runFlagsUsage =
  '[--config FILE] [--seed N] [--out DIR] [--algo arpo|grpo|dapo] [--rl-steps N] [--sft-epochs N] [--train-tasks N] [--test-tasks N] [--multi-hop-train N] [--multi-hop-test N] [--rl-learning-rate X] [--kl-coefficient X] [--kl-estimator k1|abs|k2|k3|k1+|k2+|k3+] [--entropy-coefficient X]';

export function integerFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number) || number < 0) {
    throw new InvalidArgumentError({
      argument: `--${name}`,
      message: `must be a non-negative integer, got '${value}'`,
    });
  }
  return number;
}

export function positiveNumberFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!(number > 0) || !Number.isFinite(number)) {
    throw new InvalidArgumentError({
      argument: `--${name}`,
      message: `must be a positive number, got '${value}'`,
    });
  }
  return number;
}

export function nonNegativeNumberFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !(number >= 0) || !Number.isFinite(number)) {
    throw new InvalidArgumentError({
      argument: `--${name}`,
      message: `must be a non-negative number, got '${value}'`,
    });
  }
  return number;
}

export function klEstimatorFlag(value: string | undefined): KlEstimator | undefined {
  if (value === undefined) return undefined;
  if (!(klEstimatorNames as readonly string[]).includes(value)) {
    throw new InvalidArgumentError({
      argument: '--kl-estimator',
      message: `must be one of ${klEstimatorNames.join(', ')}, got '${value}'`,
    });
  }
  return value as KlEstimator;
}

export function algorithmFlag(value: string | undefined): AlgorithmName | undefined {
  if (value === undefined) return undefined;
  if (!(algorithmNames as readonly string[]).includes(value)) {
    throw new InvalidArgumentError({
      argument: '--algo',
      message: `must be one of ${algorithmNames.join(', ')}, got '${value}'`,
    });
  }
  return value as AlgorithmName;
}

/** The flags as a config override (only the ones given). */
export function flagsToConfig(values: RunFlagValues): RunConfigInput {
  const seed = integerFlag(values.seed, 'seed');
  const steps = integerFlag(values['rl-steps'], 'rl-steps');
  const algorithm = algorithmFlag(values.algo);
  const learningRate = positiveNumberFlag(values['rl-learning-rate'], 'rl-learning-rate');
  const epochs = integerFlag(values['sft-epochs'], 'sft-epochs');
  const arithmetic = {
    ...definedField('train', integerFlag(values['train-tasks'], 'train-tasks')),
    ...definedField('test', integerFlag(values['test-tasks'], 'test-tasks')),
  };
  const multiHop = {
    ...definedField('train', integerFlag(values['multi-hop-train'], 'multi-hop-train')),
    ...definedField('test', integerFlag(values['multi-hop-test'], 'multi-hop-test')),
  };
  return {
    ...definedField('seed', seed),
    tasks: { arithmetic, multiHop },
    sft: definedField('epochs', epochs),
    rl: {
      ...definedField('steps', steps),
      ...definedField('algorithm', algorithm),
      ...definedField('learningRate', learningRate),
      ...definedField('klCoefficient', nonNegativeNumberFlag(values['kl-coefficient'], 'kl-coefficient')),
      ...definedField('klEstimator', klEstimatorFlag(values['kl-estimator'])),
      ...definedField(
        'entropyCoefficient',
        nonNegativeNumberFlag(values['entropy-coefficient'], 'entropy-coefficient'),
      ),
    },
  };
}

function definedField<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * base ← config file (if `--config`) ← flags. Config errors name the file, line and field; so does a check of
 * the merged result (modelDim divisible by heads), at the file that set the field (`--config`, else `baseSource`).
 */
export async function resolveRunConfig(options: {
  values: RunFlagValues;
  cwd: string;
  base: RunConfig;
  /** The file `base` was read from (a run directory's config.json), for errors. Default: the built-in defaults. */
  baseSource?: string;
}): Promise<RunConfig> {
  let config = options.base;
  const configPath =
    options.values.config === undefined ? undefined : resolve(options.cwd, options.values.config);
  if (configPath !== undefined) {
    const file = await loadConfigFile(configPath, runConfigSchema);
    config = mergeRunConfig(config, file);
  }
  config = mergeRunConfig(config, flagsToConfig(options.values));
  if (config.model.modelDim % config.model.heads !== 0) {
    const issue = {
      message: `model.modelDim ${config.model.modelDim} is not divisible by model.heads ${config.model.heads}`,
    };
    // Report it where it was set: the field of --config (or of the base file) that sets heads or modelDim.
    for (const source of [configPath, options.baseSource]) {
      if (source === undefined) continue;
      for (const field of ['heads', 'modelDim']) {
        const line = await configFieldLine(source, ['model', field]);
        if (line === undefined) continue;
        throw new ValidationError({
          subject: 'run config',
          source: `${source}:${line}`,
          issues: [{ path: ['model', field], message: `${issue.message} (line ${line})` }],
        });
      }
    }
    throw new ValidationError({
      subject: 'run config',
      source: 'the built-in defaults',
      issues: [{ path: ['model', 'heads'], ...issue }],
    });
  }
  return config;
}
