import { createRandom, lazySchema, parse, type Random, type RolloutGroup } from '@arpo/core';
import { z } from 'zod';
import { type GroupState, RolloutEngine, type SamplerStrategy } from '../agent/rollout-engine.js';
import type { AgentLoopSettings, RolloutEnvironment, RolloutPrompt } from '../agent/rollout-options.js';
import type { TrajectoryState } from '../agent/trajectory-state.js';
import { meanTurnEntropy, referenceTurnEntropy } from './turn-entropy.js';

/** Knobs of ARPO's entropy-based adaptive rollout. Defaults are the reference scripts' values. */
export interface ArpoSamplerOptions {
  /**
   * `reference`: what the official code does; `paper`: what the paper describes. See the package README for
   * the differences side by side.
   */
  mode?: 'reference' | 'paper';
  /** Global budget M: trajectories per prompt. Default 16. */
  trajectories?: number;
  /** N: trajectories started from the prompt. Default 8. */
  initial?: number;
  /** Z: new branches per fork (the parent continues). Default 1. */
  branchesPerFork?: number;
  /** α: base branch probability. Default 0.5. */
  alpha?: number;
  /** β: weight of the entropy change. Default 0.2. */
  beta?: number;
  /** k: generated tokens a turn's entropy is measured over. Default 20. */
  entropyTokens?: number;
  /** Reference mode: top-k logprobs of the truncated entropy. Default 10. */
  entropyTopK?: number;
  /** Paper mode: branch when P > τ. Default 0.5. */
  threshold?: number;
}

export const arpoSamplerOptionsSchema = lazySchema<ArpoSamplerOptions>('ARPO sampler options', () =>
  z
    .object({
      mode: z.enum(['reference', 'paper']).optional(),
      trajectories: z.number().int().positive().optional(),
      initial: z.number().int().positive().optional(),
      branchesPerFork: z.number().int().positive().optional(),
      alpha: z.number().min(0).max(1).optional(),
      beta: z.number().optional(),
      entropyTokens: z.number().int().positive().optional(),
      entropyTopK: z.number().int().positive().optional(),
      threshold: z.number().min(0).max(1).optional(),
    })
    .refine((value) => (value.initial ?? 8) <= (value.trajectories ?? 16), {
      message: 'initial (N) must not exceed trajectories (M)',
      path: ['initial'],
    }),
);

const clamp01 = (value: number) => Math.min(1, Math.max(0, value));

class ArpoStrategy implements SamplerStrategy {
  readonly branches = true;
  readonly topLogprobs: number | undefined;
  private readonly random = new Map<string, Random>();

  constructor(
    private readonly options: Required<ArpoSamplerOptions>,
    private readonly seed: number,
  ) {
    this.topLogprobs = options.mode === 'reference' ? options.entropyTopK : undefined;
  }

  private randomOf(group: GroupState): Random {
    let random = this.random.get(group.prompt.promptId);
    if (random === undefined) {
      random = createRandom({ seed: this.seed }).derive(`arpo/${group.prompt.promptId}`);
      this.random.set(group.prompt.promptId, random);
    }
    return random;
  }

  turnEntropy(sequence: Parameters<SamplerStrategy['turnEntropy']>[0], vocabularySize: number): number {
    return this.options.mode === 'reference'
      ? referenceTurnEntropy(sequence, {
          vocabularySize,
          k: this.options.entropyTokens,
          topK: this.options.entropyTopK,
        })
      : meanTurnEntropy(sequence, { k: this.options.entropyTokens });
  }

  afterTurns(engine: RolloutEngine, group: GroupState, generated: readonly TrajectoryState[]): void {
    for (const state of generated) {
      // The baseline is the trajectory's first turn; branches inherit their parent's.
      if (state.initialEntropy === undefined && state.turns.length === 1)
        state.initialEntropy = state.turns[0]?.entropy;
    }
    if (this.options.mode !== 'paper') return;
    // Paper: measure the first k tokens generated after a new tool result; fork from just before them.
    const candidates: {
      state: TrajectoryState;
      at: number;
      entropy: number;
      delta: number;
      probability: number;
    }[] = [];
    for (const state of generated) {
      const turn = state.turns.at(-1);
      if (turn === undefined || !turn.afterToolResult || turn.start === state.forkedAt) continue;
      const delta = turn.entropy - (state.initialEntropy ?? turn.entropy);
      const probability = clamp01(this.options.alpha + this.options.beta * delta);
      if (probability > this.options.threshold) {
        candidates.push({ state, at: turn.start, entropy: turn.entropy, delta, probability });
      }
    }
    candidates.sort((first, second) => second.delta - first.delta || first.state.index - second.state.index);
    for (const candidate of candidates) {
      if (group.states.length >= group.budget) break;
      engine.fork(group, candidate.state, {
        at: candidate.at,
        count: this.options.branchesPerFork,
        info: {
          entropy: candidate.entropy,
          entropyDelta: candidate.delta,
          probability: candidate.probability,
        },
      });
    }
  }

  afterToolResults(engine: RolloutEngine, group: GroupState, withResults: readonly TrajectoryState[]): void {
    if (this.options.mode !== 'reference') return;
    const random = this.randomOf(group);
    // Reference: slots go to continuing trajectories in creation order.
    const ordered = [...withResults].sort((first, second) => first.index - second.index);
    for (const state of ordered) {
      if (group.states.length >= group.budget) break;
      const callTurn = state.turns.at(-1);
      if (callTurn === undefined) continue;
      const delta = callTurn.entropy - (state.initialEntropy ?? callTurn.entropy);
      const draw = random.next();
      if (clamp01(draw - this.options.beta * delta) > this.options.alpha) continue;
      engine.fork(group, state, {
        at: state.responseLength,
        count: this.options.branchesPerFork,
        info: {
          entropy: callTurn.entropy,
          entropyDelta: delta,
          probability: clamp01(this.options.alpha + this.options.beta * delta),
        },
      });
    }
  }

  refill(engine: RolloutEngine, group: GroupState): void {
    if (group.states.length >= group.budget || group.states.some((state) => !state.finished)) return;
    // Reference: one fresh trajectory per round; paper: fill the remaining budget at once.
    const fresh = this.options.mode === 'reference' ? 1 : group.budget - group.states.length;
    for (let count = 0; count < fresh; count++) engine.startTrajectory(group);
  }
}

/**
 * ARPO's entropy-based adaptive rollout: per prompt start N trajectories; after tool calls compare a turn's
 * entropy with the trajectory's initial entropy and fork Z branches with probability clamp(α + β·ΔH, 0, 1);
 * refill when trajectories finish early; never exceed M. Branches share their prefix (and its tool calls),
 * which the policy does not recompute.
 */
export async function sampleArpo(options: {
  environment: RolloutEnvironment;
  prompts: readonly RolloutPrompt[];
  settings: AgentLoopSettings;
  arpo?: ArpoSamplerOptions;
}): Promise<RolloutGroup[]> {
  const arpo = parse(arpoSamplerOptionsSchema, options.arpo ?? {});
  const resolved: Required<ArpoSamplerOptions> = {
    mode: 'reference',
    trajectories: 16,
    initial: 8,
    branchesPerFork: 1,
    alpha: 0.5,
    beta: 0.2,
    entropyTokens: 20,
    entropyTopK: 10,
    threshold: 0.5,
    ...arpo,
  };
  const engine = new RolloutEngine(
    options.environment,
    options.settings,
    new ArpoStrategy(resolved, options.settings.seed),
  );
  for (const prompt of options.prompts) {
    engine.addGroup(prompt, { initial: resolved.initial, budget: resolved.trajectories });
  }
  return engine.run();
}
