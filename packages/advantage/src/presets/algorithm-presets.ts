import { type LossConfig, type OptimizerConfig, UnknownEntryError } from '@arpo/core';
import type { OverlongPenaltyOptions } from '../dapo/overlong-penalty.js';

/** Rollout settings of a preset. */
export interface SamplingPreset {
  /** Trajectories per prompt (verl `rollout.n`; ARPO's M). */
  trajectoriesPerPrompt: number;
  /** ARPO's N: independent trajectories sampled before entropy-based branching fills up to M. */
  initialTrajectories?: number;
  /** ARPO: branches created at a fork (`beam_size`). */
  beamSize?: number;
  /** ARPO: base branch probability (`branch_probability`). */
  branchProbability?: number;
  /** ARPO: weight of the entropy change in the branch probability (`entropy_weight`). */
  entropyWeight?: number;
  temperature: number;
  topP: number;
  /** Response budget in tokens (verl `data.max_response_length`). */
  maxResponseLength?: number;
  /** Prompts per training step (verl `data.train_batch_size`). */
  promptsPerStep?: number;
  /** DAPO dynamic sampling: filter on `metric`, sample at most `maxGenerationBatches` batches per step. */
  dynamicSampling?: { metric: string; maxGenerationBatches: number; generationBatchMultiplier: number };
  /** DAPO overlong reward shaping. */
  overlong?: OverlongPenaltyOptions;
}

/** An algorithm as its reference scripts run it: estimator, objective, optimizer and sampling settings. */
export interface AlgorithmPreset {
  name: AlgorithmPresetName;
  /** Registry name of the advantage estimator. */
  estimator: string;
  estimatorOptions: Record<string, unknown>;
  loss: LossConfig;
  optimizer: OptimizerConfig;
  sampling: SamplingPreset;
  /** Where each value comes from (see the package README). */
  sources: readonly string[];
}

export type AlgorithmPresetName = 'grpo' | 'dapo' | 'arpo';

const presets: Readonly<Record<AlgorithmPresetName, AlgorithmPreset>> = {
  grpo: {
    name: 'grpo',
    estimator: 'grpo',
    estimatorOptions: {},
    loss: {
      lossFunction: 'ppo',
      clipLow: 0.2,
      clipHigh: 0.2,
      dualClip: 3,
      aggregation: 'token-mean',
      klCoefficient: 0.001,
      klEstimator: 'k3',
      entropyCoefficient: 0,
    },
    optimizer: { learningRate: 1e-6, weightDecay: 0.01, maxGradientNorm: 1 },
    sampling: {
      trajectoriesPerPrompt: 5,
      temperature: 1,
      topP: 1,
      maxResponseLength: 512,
      promptsPerStep: 1024,
    },
    sources: [
      'volcengine/verl examples/grpo_trainer/run_qwen2-7b.sh (rollout.n=5, lr=1e-6, use_kl_loss=True, batch 1024, response 512)',
      'volcengine/verl trainer config defaults (clip_ratio=0.2, clip_ratio_c=3.0, loss_agg_mode=token-mean, kl_loss_coef=0.001, kl_loss_type=low_var_kl, entropy_coeff=0, grad_clip=1.0, weight_decay=0.01)',
    ],
  },
  dapo: {
    name: 'dapo',
    estimator: 'grpo',
    estimatorOptions: {},
    loss: {
      lossFunction: 'ppo',
      clipLow: 0.2,
      clipHigh: 0.28,
      dualClip: 10,
      aggregation: 'token-mean',
      klCoefficient: 0,
      entropyCoefficient: 0,
    },
    optimizer: { learningRate: 1e-6, weightDecay: 0.1, maxGradientNorm: 1 },
    sampling: {
      trajectoriesPerPrompt: 16,
      temperature: 1,
      topP: 1,
      maxResponseLength: 20480,
      promptsPerStep: 512,
      dynamicSampling: { metric: 'acc', maxGenerationBatches: 10, generationBatchMultiplier: 3 },
      overlong: { maxResponseLength: 20480, bufferLength: 4096, penaltyFactor: 1 },
    },
    sources: [
      'volcengine/verl recipe/dapo/run_dapo_qwen2.5_32b.sh (clip 0.2/0.28, clip_ratio_c=10.0, token-mean, no KL, overlong buffer 4096 of 20480 with factor 1.0, filter_groups metric acc, max_num_gen_batches=10, gen batch 3x train batch 512, n=16, lr 1e-6, weight_decay 0.1, grad_clip 1.0, temperature 1.0, top_p 1.0)',
    ],
  },
  arpo: {
    name: 'arpo',
    estimator: 'arpo_soft',
    estimatorOptions: {},
    loss: {
      lossFunction: 'ppo',
      clipLow: 0.2,
      clipHigh: 0.2,
      dualClip: 3,
      aggregation: 'token-mean',
      klCoefficient: 0,
      entropyCoefficient: 0,
    },
    optimizer: { learningRate: 1e-6, weightDecay: 0.01, maxGradientNorm: 1 },
    sampling: {
      trajectoriesPerPrompt: 16,
      initialTrajectories: 8,
      beamSize: 2,
      branchProbability: 0.5,
      entropyWeight: 0.2,
      temperature: 1,
      topP: 1,
      maxResponseLength: 4096,
    },
    sources: [
      'dongguanting/ARPO ARPO/scripts/ARPO_7B_Reasoning_1node.sh (adv_estimator=grpo, rollout.n=16, initial_rollouts=8, beam_size=2, branch_probability=0.5, entropy_weight=0.2, kl coefficients 0.0, lr 1e-6, max_response_length 4096)',
      'dongguanting/ARPO ARPO/scripts/config/ppo_trainer.yaml (clip_ratio_low/high=0.2, clip_ratio_c=3.0, loss_agg_mode=token-mean, entropy_coeff=0, grad_clip=1.0, weight_decay=0.01, temperature 1.0, top_p 1)',
    ],
  },
};

export const algorithmPresetNames: readonly AlgorithmPresetName[] = ['grpo', 'dapo', 'arpo'];

/** A fresh copy of the named preset (mutating it does not change the next call's result). */
export function getAlgorithmPreset(name: AlgorithmPresetName): AlgorithmPreset {
  const preset = (presets as Record<string, AlgorithmPreset | undefined>)[name];
  if (preset === undefined) {
    throw new UnknownEntryError({
      kind: 'algorithm preset',
      entry: String(name),
      knownEntries: algorithmPresetNames,
    });
  }
  return structuredClone(preset);
}
