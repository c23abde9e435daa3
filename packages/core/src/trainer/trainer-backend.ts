import { z } from 'zod';
import type { GenerationRequest, GenerationResult } from '../policy/policy.js';
import { lazySchema } from '../schema/lazy-schema.js';

/**
 * One training sequence in the remote-training (Tinker) alignment: position i of `inputTokenIds` predicts
 * `targetTokenIds[i]`, and every per-token array has the same length. Build it from a full sequence s as
 * input = s[0:-1], target = s[1:], and shift masks, logprobs and advantages the same way.
 */
export interface TrainingDatum {
  inputTokenIds: Int32Array;
  targetTokenIds: Int32Array;
  /** Per-token loss weight (the loss mask for RL, 1/0 for SFT). Default all 1. */
  weights?: Float32Array;
  /** Sampling-time (old) logprobs of the targets, for importance ratios. */
  logprobs?: Float32Array;
  /** Per-token advantages. */
  advantages?: Float32Array;
  /** Logprobs of a frozen reference policy, for the KL term. */
  referenceLogprobs?: Float32Array;
}

export type LossFunctionName = 'cross_entropy' | 'importance_sampling' | 'ppo';

export type LossAggregation =
  | 'token-mean'
  | 'token-sum'
  | 'seq-mean-token-sum'
  | 'seq-mean-token-mean'
  | 'seq-mean-token-sum-norm';

export type KlEstimator = 'k1' | 'abs' | 'k2' | 'k3' | 'k1+' | 'k2+' | 'k3+';

export interface LossConfig {
  lossFunction: LossFunctionName;
  /** PPO ratio clip: ratio kept within [1 - clipLow, 1 + clipHigh]. */
  clipLow?: number;
  clipHigh?: number;
  /** Dual-clip constant c > 1 (bounds the loss for negative advantages); undefined = off. */
  dualClip?: number;
  aggregation?: LossAggregation;
  /** Horizon for `seq-mean-token-sum-norm`. */
  aggregationHorizon?: number;
  klCoefficient?: number;
  klEstimator?: KlEstimator;
  entropyCoefficient?: number;
  /**
   * What the aggregation divides by when one mini-batch is split over several `forwardBackward` calls
   * (gradient accumulation): the mini-batch's token count (`token-mean`), sequence count (`seq-mean-token-sum`,
   * `seq-mean-token-sum-norm`) or count of sequences with tokens (`seq-mean-token-mean`). Default: this call's.
   */
  normalizer?: number;
}

export const lossConfigSchema = lazySchema<LossConfig>('loss config', () =>
  z.object({
    lossFunction: z.enum(['cross_entropy', 'importance_sampling', 'ppo']),
    clipLow: z.number().min(0).max(1).optional(),
    clipHigh: z.number().min(0).optional(),
    dualClip: z.number().gt(1).optional(),
    aggregation: z
      .enum([
        'token-mean',
        'token-sum',
        'seq-mean-token-sum',
        'seq-mean-token-mean',
        'seq-mean-token-sum-norm',
      ])
      .optional(),
    aggregationHorizon: z.number().int().positive().optional(),
    klCoefficient: z.number().min(0).optional(),
    klEstimator: z.enum(['k1', 'abs', 'k2', 'k3', 'k1+', 'k2+', 'k3+']).optional(),
    entropyCoefficient: z.number().optional(),
    normalizer: z.number().positive().optional(),
  }),
);

export interface OptimizerConfig {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /** Global-norm gradient clip; undefined = off. */
  maxGradientNorm?: number;
}

export const optimizerConfigSchema = lazySchema<OptimizerConfig>('optimizer config', () =>
  z.object({
    learningRate: z.number().positive(),
    beta1: z.number().min(0).lt(1).optional(),
    beta2: z.number().min(0).lt(1).optional(),
    epsilon: z.number().positive().optional(),
    weightDecay: z.number().min(0).optional(),
    maxGradientNorm: z.number().positive().optional(),
  }),
);

export interface ForwardResult {
  /** Per datum: learner logprobs of the targets under the current weights. */
  logprobs: Float32Array[];
  /** Per datum: entropy of the learner's distribution at each position, when the backend computes it. */
  entropies?: Float32Array[];
  metrics: Record<string, number>;
}

export interface OptimStepResult {
  metrics: Record<string, number>;
}

/**
 * A training engine, modelled on remote-training primitives (Tinker's forward_backward / optim_step / sample /
 * save / load) so the in-process engine and a remote one are interchangeable. Gradients from successive
 * `forwardBackward` calls accumulate until `optimStep` applies and clears them.
 */
export interface TrainerBackend {
  readonly id: string;
  forwardBackward(batch: readonly TrainingDatum[], loss: LossConfig): Promise<ForwardResult>;
  /** Logprobs without gradients (old-policy and reference logprobs). */
  forward(batch: readonly TrainingDatum[]): Promise<ForwardResult>;
  optimStep(optimizer: OptimizerConfig): Promise<OptimStepResult>;
  /** Samples from the current weights (after the last `optimStep`). */
  sample(
    requests: readonly GenerationRequest[],
    options?: { signal?: AbortSignal },
  ): Promise<GenerationResult[]>;
  /** Saves weights and optimizer state under `name`; returns where. */
  saveState(name: string): Promise<{ path: string }>;
  loadState(path: string): Promise<void>;
  close?(): Promise<void>;
}
