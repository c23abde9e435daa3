import { applyOverlongPenalty, getAdvantageEstimator, type OverlongPenaltyOptions } from '@arpo/advantage';
import {
  createRandom,
  type EventSink,
  type LossConfig,
  type OptimizerConfig,
  type Policy,
  type RewardFunction,
  type RolloutGroup,
  silentEventSink,
  type Task,
  type Tool,
  type ToolCallProtocol,
  type TrainerBackend,
  type TrainingDatum,
  type Trajectory,
} from '@arpo/core';
import {
  type AgentLoopSettings,
  type ArpoSamplerOptions,
  promptFromTask,
  type RolloutPrompt,
  sampleArpo,
  sampleDynamically,
  sampleIndependent,
} from '@arpo/rollout';
import { trajectoryToDatum } from '../data/sequence-datum.js';
import { hasGradientControl } from '../engine/gradient-control.js';
import { aggregationNormalizer } from '../objective/training-objective.js';
import { MissingReferenceError } from '../reference/missing-reference-error.js';
import type { ReferenceModel } from '../reference/reference-model.js';

/** How one RL algorithm samples, scores and updates. */
export interface RlAlgorithmSettings {
  name: string;
  sampler:
    | { kind: 'independent'; trajectoriesPerPrompt: number }
    | { kind: 'arpo'; arpo: ArpoSamplerOptions };
  /** Registry name of the advantage estimator (`grpo`, `arpo_hard`, ...). */
  estimator: string;
  estimatorOptions?: Record<string, unknown>;
  loss: LossConfig;
  optimizer: OptimizerConfig;
  rollout: Omit<AgentLoopSettings, 'seed'>;
  /** Passes over the step's data. Default 1. */
  ppoEpochs?: number;
  /** Optimizer steps per epoch (the data is split into this many mini-batches). Default 1. */
  miniBatches?: number;
  /** Sequences per forwardBackward call inside a mini-batch. Default 8. */
  microBatchSize?: number;
  /** DAPO dynamic sampling: drop groups without accuracy spread and resample (up to `maxRounds`). */
  dynamicSampling?: { maxRounds: number; promptsPerRound?: number };
  /** DAPO overlong reward shaping. */
  overlong?: OverlongPenaltyOptions;
}

export interface RlEnvironment {
  policy: Policy;
  tools: readonly Tool[];
  protocol: ToolCallProtocol;
  reward: RewardFunction;
}

export interface RlStepOptions {
  step: number;
  /** Seed of this step (rollout seeds and mini-batch shuffles derive from it). */
  seed: number;
  backend: TrainerBackend;
  environment: RlEnvironment;
  /** This step's prompts; with dynamic sampling, the pool to draw from. */
  tasks: readonly Task[];
  /** With dynamic sampling: groups wanted. Default: all tasks. */
  batchSize?: number;
  algorithm: RlAlgorithmSettings;
  /**
   * The frozen reference of the KL term; required when `algorithm.loss.klCoefficient` > 0 (`runRlTraining`
   * freezes the starting weights of a local backend for you).
   */
  reference?: ReferenceModel;
  events?: EventSink;
  signal?: AbortSignal;
}

export interface RlStepResult {
  metrics: Record<string, number>;
  groups: RolloutGroup[];
  /** True when a non-finite reward, loss or gradient made the step skip (some of) its updates. */
  skipped: boolean;
}

/** Low-variance KL estimate (k3) of one token, as the objective's KL metric reports it. */
function lowVarianceKl(logprob: number, referenceLogprob: number): number {
  const negative = referenceLogprob - logprob;
  return Math.exp(negative) - negative - 1;
}

/** Accuracy of a scored trajectory: the reward's `correct`/`acc` component, else whether it reached 1. */
export function trajectoryAccuracy(trajectory: Trajectory): number {
  const components = trajectory.reward?.components ?? {};
  return components.correct ?? components.acc ?? ((trajectory.reward?.total ?? 0) >= 1 ? 1 : 0);
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * One RL step: rollout (independent or ARPO sampler, optionally with DAPO dynamic sampling) → rewards (with
 * optional overlong shaping) → advantages (registered estimator) → old logprobs recomputed by the backend →
 * PPO epochs over mini-batches (gradient accumulation over micro-batches with a global normaliser) → optimizer
 * steps. A non-finite loss skips the update and is reported.
 */
export async function runRlStep(options: RlStepOptions): Promise<RlStepResult> {
  const { algorithm, environment, backend } = options;
  const events = options.events ?? silentEventSink;
  const klCoefficient = algorithm.loss.klCoefficient ?? 0;
  if (klCoefficient > 0 && options.reference === undefined) {
    throw new MissingReferenceError({ backend: backend.id, klCoefficient });
  }
  const tokenizer = environment.policy.tokenizer;
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      timings[`time_${name}_ms`] = performance.now() - started;
    }
  };
  events.emit({ type: 'step-start', step: options.step });

  const rolloutEnvironment = {
    policy: environment.policy,
    tools: environment.tools,
    protocol: environment.protocol,
    events,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const tasksById = new Map(options.tasks.map((task) => [task.id, task]));
  const score = async (groups: RolloutGroup[]) => {
    for (const group of groups) {
      const task = tasksById.get(group.promptId);
      if (task === undefined) continue;
      for (const trajectory of group.trajectories) {
        const responseText = tokenizer.decode(trajectory.responseTokenIds, { skipSpecialTokens: true });
        let reward = await environment.reward.compute({ task, trajectory, responseText });
        if (algorithm.overlong !== undefined) {
          reward = applyOverlongPenalty(reward, trajectory.responseTokenIds.length, algorithm.overlong);
        }
        trajectory.reward = reward;
      }
    }
    return groups;
  };
  const rollout = (prompts: readonly RolloutPrompt[], round: number) => {
    const settings = {
      ...algorithm.rollout,
      seed: createRandom({ seed: options.seed }).derive(`rollout-${round}`).nextUint32(),
    };
    return algorithm.sampler.kind === 'arpo'
      ? sampleArpo({ environment: rolloutEnvironment, prompts, settings, arpo: algorithm.sampler.arpo })
      : sampleIndependent({
          environment: rolloutEnvironment,
          prompts,
          settings,
          n: algorithm.sampler.trajectoriesPerPrompt,
        });
  };

  const prompts = options.tasks.map((task) => promptFromTask(task, tokenizer));
  events.emit({ type: 'rollout-start', step: options.step, prompts: prompts.length });
  const rolloutStarted = performance.now();
  let groups: RolloutGroup[];
  let rounds = 1;
  // What the rollout cost: with dynamic sampling, dropped groups were generated (and their tools run) too.
  let spent:
    | { trajectories: number; computedTokens: number; reusedTokens: number; toolCalls: number }
    | undefined;
  if (algorithm.dynamicSampling !== undefined) {
    const dynamic = await timed('rollout', () =>
      sampleDynamically({
        prompts,
        batchSize: options.batchSize ?? prompts.length,
        maxRounds: algorithm.dynamicSampling?.maxRounds ?? 3,
        ...(algorithm.dynamicSampling?.promptsPerRound === undefined
          ? {}
          : { promptsPerRound: algorithm.dynamicSampling.promptsPerRound }),
        sample: async (batch, round) => score(await rollout(batch, round)),
        accuracy: (group) => group.trajectories.map(trajectoryAccuracy),
      }),
    );
    groups = dynamic.groups;
    rounds = dynamic.rounds;
    spent = dynamic.spent;
  } else {
    groups = await timed('rollout', async () => score(await rollout(prompts, 0)));
  }
  const trajectories = groups.flatMap((group) => group.trajectories);
  const computedTokens =
    spent?.computedTokens ?? groups.reduce((sum, group) => sum + group.statistics.computedTokens, 0);
  const reusedTokens =
    spent?.reusedTokens ?? groups.reduce((sum, group) => sum + group.statistics.reusedTokens, 0);
  const executedCalls =
    spent?.toolCalls ?? groups.reduce((sum, group) => sum + group.statistics.toolCalls, 0);
  const sampledTrajectories = spent?.trajectories ?? trajectories.length;
  events.emit({
    type: 'rollout-end',
    step: options.step,
    trajectories: sampledTrajectories,
    computedTokens,
    reusedTokens,
    toolCalls: executedCalls,
    durationMs: performance.now() - rolloutStarted,
  });

  const metrics: Record<string, number> = {
    reward: mean(trajectories.map((trajectory) => trajectory.reward?.total ?? 0)),
    accuracy: mean(trajectories.map(trajectoryAccuracy)),
    response_length: mean(trajectories.map((trajectory) => trajectory.responseTokenIds.length)),
    tool_calls_per_trajectory: mean(trajectories.map((trajectory) => trajectory.metrics.toolCalls ?? 0)),
    tool_calls_executed: executedCalls,
    trajectories: trajectories.length,
    trajectories_sampled: sampledTrajectories,
    groups: groups.length,
    sampling_rounds: rounds,
    tokens_computed: computedTokens,
    tokens_reused: reusedTokens,
  };
  // A reward function that returns NaN or Infinity would poison every advantage of its group: skip the step.
  for (const group of groups) {
    const index = group.trajectories.findIndex(
      (trajectory) => !Number.isFinite(trajectory.reward?.total ?? 0),
    );
    if (index === -1) continue;
    const value = group.trajectories[index]?.reward?.total;
    events.emit({
      type: 'step-skip',
      step: options.step,
      reason: `non-finite reward ${value} (trajectory ${index} of prompt '${group.promptId}'); update skipped`,
    });
    Object.assign(metrics, timings);
    metrics.skipped = 1;
    return { metrics, groups, skipped: true };
  }

  // Advantages → datums.
  const estimator = getAdvantageEstimator(algorithm.estimator);
  const advantages = estimator.estimate(
    groups.map((group) => ({
      id: group.promptId,
      scores: Float64Array.from(group.trajectories, (trajectory) => trajectory.reward?.total ?? 0),
      lossMasks: group.trajectories.map((trajectory) => trajectory.lossMask),
      tree: group.tree,
    })),
    algorithm.estimatorOptions,
  );
  const data: TrainingDatum[] = [];
  groups.forEach((group, groupIndex) => {
    group.trajectories.forEach((trajectory, index) => {
      const output = advantages[groupIndex]!;
      // An estimator may train some tokens in fewer rows (arpo_hard with sharedTokens 'once'): use its masks.
      data.push(trajectoryToDatum(trajectory, output.advantages[index]!, output.lossMasks?.[index]));
    });
  });

  let entropySum = 0;
  let entropyCount = 0;
  for (const trajectory of trajectories) {
    for (let index = 0; index < trajectory.lossMask.length; index++) {
      if (trajectory.lossMask[index] === 1) {
        entropySum += trajectory.entropies[index] as number;
        entropyCount += 1;
      }
    }
  }
  metrics.entropy = entropyCount === 0 ? 0 : entropySum / entropyCount;

  if (data.length === 0) {
    const reason =
      algorithm.dynamicSampling === undefined
        ? 'no trajectories to train on'
        : `no trajectories to train on: dynamic sampling found no group with accuracy spread in ${rounds} rounds`;
    events.emit({ type: 'step-skip', step: options.step, reason });
    return { metrics: { ...metrics, ...timings, skipped: 1 }, groups, skipped: true };
  }

  // Old logprobs recomputed with the current weights (the sampler's are kept in the trajectories).
  await timed('old_logprobs', async () => {
    const { logprobs } = await backend.forward(data);
    data.forEach((datum, index) => {
      datum.logprobs = logprobs[index];
    });
  });
  if (klCoefficient > 0 && options.reference !== undefined) {
    // Reference logprobs: the same forward pass with the frozen starting weights.
    const reference = options.reference;
    await timed('reference_logprobs', async () => {
      const { logprobs } = await reference.forward(data);
      data.forEach((datum, index) => {
        datum.referenceLogprobs = logprobs[index];
      });
    });
    let klSum = 0;
    let klTokens = 0;
    for (const datum of data) {
      const weights = datum.weights;
      const current = datum.logprobs;
      const frozen = datum.referenceLogprobs;
      if (weights === undefined || current === undefined || frozen === undefined) continue;
      for (let position = 0; position < weights.length; position++) {
        if (weights[position] === 0) continue;
        klSum += lowVarianceKl(current[position] as number, frozen[position] as number);
        klTokens += 1;
      }
    }
    // KL(π_θ ‖ π_ref) of this step's data before its updates: 0 while the policy is still the reference.
    metrics.reference_kl = klTokens === 0 ? 0 : klSum / klTokens;
  }

  const random = createRandom({ seed: options.seed }).derive('minibatches');
  const epochs = algorithm.ppoEpochs ?? 1;
  const miniBatches = Math.max(1, Math.min(algorithm.miniBatches ?? 1, data.length));
  const microBatchSize = algorithm.microBatchSize ?? 8;
  const updateMetrics: Record<string, number[]> = {};
  const record = (name: string, value: number) => {
    const list = updateMetrics[name] ?? [];
    list.push(value);
    updateMetrics[name] = list;
  };
  let skippedUpdates = 0;
  await timed('update', async () => {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = random.shuffle(data.map((_, index) => index));
      for (let mini = 0; mini < miniBatches; mini++) {
        const members = order
          .filter((_, position) => position % miniBatches === mini)
          .map((index) => data[index]!);
        const normalizer = aggregationNormalizer(
          algorithm.loss,
          members.map((datum) => datum.weights ?? new Float32Array(0)),
        );
        let nonFinite: string | undefined;
        for (let start = 0; start < members.length; start += microBatchSize) {
          const result = await backend.forwardBackward(members.slice(start, start + microBatchSize), {
            ...algorithm.loss,
            ...(normalizer > 0 ? { normalizer } : {}),
          });
          const loss = result.metrics.loss ?? 0;
          if (Number.isFinite(loss)) {
            for (const [name, value] of Object.entries(result.metrics)) record(name, value);
          } else nonFinite ??= `loss ${loss}`;
        }
        // Checked before the update: an infinite loss with finite gradients must not move the weights either.
        if (nonFinite === undefined && hasGradientControl(backend)) {
          const norm = backend.accumulatedGradientNorm();
          if (!Number.isFinite(norm)) nonFinite = `gradient norm ${norm}`;
        }
        const where = `epoch ${epoch}, mini-batch ${mini}`;
        if (nonFinite !== undefined) {
          skippedUpdates += 1;
          if (hasGradientControl(backend)) backend.discardGradients();
          // A backend that cannot drop gradients (a remote one) gets a step at the smallest positive rate (the
          // contract requires > 0): it consumes the gradients and the weights do not move, though its optimizer
          // moments see them.
          else await backend.optimStep({ ...algorithm.optimizer, learningRate: Number.MIN_VALUE });
          events.emit({
            type: 'step-skip',
            step: options.step,
            reason: `non-finite ${nonFinite} (${where}); update skipped`,
          });
          continue;
        }
        const stepped = await backend.optimStep(algorithm.optimizer);
        if (stepped.metrics.skipped === 1) {
          skippedUpdates += 1;
          events.emit({
            type: 'step-skip',
            step: options.step,
            reason: `non-finite gradient (${where}); update skipped`,
          });
        }
        for (const [name, value] of Object.entries(stepped.metrics)) record(name, value);
      }
    }
  });
  for (const [name, values] of Object.entries(updateMetrics)) metrics[name] = mean(values);
  Object.assign(metrics, timings);
  metrics.skipped = skippedUpdates > 0 ? 1 : 0;
  metrics.skipped_updates = skippedUpdates;
  events.emit({ type: 'step-end', step: options.step, metrics });
  return { metrics, groups, skipped: skippedUpdates > 0 };
}
