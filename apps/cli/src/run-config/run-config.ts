import { type KlEstimator, lazySchema } from '@arpo/core';
import { z } from 'zod';

/** The RL algorithms the CLI trains with (reference presets from @arpo/advantage). */
export const algorithmNames = ['grpo', 'dapo', 'arpo'] as const;
export type AlgorithmName = (typeof algorithmNames)[number];

/**
 * Everything `arpo sft`, `arpo train`, `arpo eval` and `arpo demo` need, as one document. A config file holds any
 * subset (JSON with comments); flags override it; the rest comes from `defaultRunConfig`, sized for 2 cores.
 */
export interface RunConfig {
  seed: number;
  tasks: {
    /** Python arithmetic (train and test counts). */
    arithmetic: { train: number; test: number };
    /** Two-hop questions over a generated knowledge base, answered with the search tool. */
    multiHop: { train: number; test: number };
    /** Share of teacher demonstrations with a deliberate mistake, so RL has headroom. */
    imperfectShare: number;
  };
  model: { layers: number; modelDim: number; heads: number; contextLength: number };
  sft: {
    epochs: number;
    batchSize: number;
    peakLearningRate: number;
    minLearningRate: number;
    warmupSteps: number;
  };
  rl: {
    algorithm: AlgorithmName;
    steps: number;
    promptsPerStep: number;
    /** Trajectories per prompt (ARPO: the total budget M of the tree). */
    trajectoriesPerPrompt: number;
    learningRate: number;
    temperature: number;
    maxResponseTokens: number;
    maxToolCalls: number;
    checkpointEvery: number;
    /** Weight of the KL term to the frozen SFT policy. Default: the algorithm preset's (GRPO 0.001, DAPO/ARPO 0). */
    klCoefficient?: number;
    /** KL estimator (`k1`, `abs`, `k2`, `k3`, straight-through `k1+`, `k2+`, `k3+`). Default: the preset's, else k3. */
    klEstimator?: KlEstimator;
    /** Weight of the entropy bonus. Default: the preset's (0). */
    entropyCoefficient?: number;
  };
  evaluation: { samples: number; temperature: number; maxResponseTokens: number };
}

export const defaultRunConfig: RunConfig = {
  seed: 1,
  tasks: { arithmetic: { train: 800, test: 100 }, multiHop: { train: 0, test: 0 }, imperfectShare: 0.3 },
  model: { layers: 2, modelDim: 128, heads: 4, contextLength: 256 },
  sft: { epochs: 8, batchSize: 16, peakLearningRate: 3e-3, minLearningRate: 3e-4, warmupSteps: 10 },
  rl: {
    algorithm: 'arpo',
    steps: 40,
    promptsPerStep: 8,
    trajectoriesPerPrompt: 8,
    learningRate: 5e-4,
    temperature: 1,
    maxResponseTokens: 160,
    maxToolCalls: 3,
    checkpointEvery: 5,
  },
  evaluation: { samples: 4, temperature: 1, maxResponseTokens: 160 },
};

/** A deep-partial run config, as a config file holds it. */
export type RunConfigInput = {
  [K in keyof RunConfig]?: RunConfig[K] extends object
    ? {
        [L in keyof RunConfig[K]]?: RunConfig[K][L] extends object
          ? Partial<RunConfig[K][L]>
          : RunConfig[K][L];
      }
    : RunConfig[K];
};

/** The KL estimators a config may name. */
export const klEstimatorNames = ['k1', 'abs', 'k2', 'k3', 'k1+', 'k2+', 'k3+'] as const;

const count = () => z.number().int().min(0);
const positiveInteger = () => z.number().int().positive();

/** Validates a config file; unknown keys are errors (a typo must not be silently ignored). */
export const runConfigSchema = lazySchema<RunConfigInput>(
  'run config',
  () =>
    z
      .object({
        $schema: z.string().optional(),
        seed: z.number().int().min(0).optional(),
        tasks: z
          .object({
            arithmetic: z.object({ train: count().optional(), test: count().optional() }).strict().optional(),
            multiHop: z.object({ train: count().optional(), test: count().optional() }).strict().optional(),
            imperfectShare: z.number().min(0).max(1).optional(),
          })
          .strict()
          .optional(),
        model: z
          .object({
            layers: positiveInteger().optional(),
            modelDim: positiveInteger().optional(),
            heads: positiveInteger().optional(),
            contextLength: z.number().int().min(16).optional(),
          })
          .strict()
          .refine(
            (model) =>
              model.modelDim === undefined || model.heads === undefined || model.modelDim % model.heads === 0,
            { message: 'modelDim must be divisible by heads', path: ['heads'] },
          )
          .optional(),
        sft: z
          .object({
            epochs: count().optional(),
            batchSize: positiveInteger().optional(),
            peakLearningRate: z.number().positive().optional(),
            minLearningRate: z.number().min(0).optional(),
            warmupSteps: count().optional(),
          })
          .strict()
          .optional(),
        rl: z
          .object({
            algorithm: z.enum(algorithmNames).optional(),
            steps: count().optional(),
            promptsPerStep: positiveInteger().optional(),
            trajectoriesPerPrompt: z.number().int().min(2).optional(),
            learningRate: z.number().positive().optional(),
            temperature: z.number().positive().optional(),
            maxResponseTokens: positiveInteger().optional(),
            maxToolCalls: count().optional(),
            checkpointEvery: positiveInteger().optional(),
            klCoefficient: z.number().min(0).optional(),
            klEstimator: z.enum(klEstimatorNames).optional(),
            entropyCoefficient: z.number().min(0).optional(),
          })
          .strict()
          .optional(),
        evaluation: z
          .object({
            samples: positiveInteger().optional(),
            temperature: z.number().positive().optional(),
            maxResponseTokens: positiveInteger().optional(),
          })
          .strict()
          .optional(),
      })
      .strict() as unknown as z.ZodType<RunConfigInput>,
);

/** `base` with every field `override` sets replaced (two levels deep, like the config itself). */
export function mergeRunConfig(base: RunConfig, override: RunConfigInput): RunConfig {
  const merged = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined || key === '$schema') continue;
    if (typeof value !== 'object' || value === null) {
      merged[key] = value;
      continue;
    }
    const section = merged[key] as Record<string, unknown>;
    for (const [field, fieldValue] of Object.entries(value)) {
      if (fieldValue === undefined) continue;
      section[field] =
        typeof fieldValue === 'object' && fieldValue !== null
          ? { ...(section[field] as object), ...fieldValue }
          : fieldValue;
    }
  }
  return merged as unknown as RunConfig;
}
