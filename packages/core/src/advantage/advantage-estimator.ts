import type { RolloutTree } from '../trajectory/rollout-tree.js';

/**
 * An estimator's view of one group: a scalar score per trajectory, the loss masks that give each trajectory's
 * length and policy tokens, and the tree for estimators that attribute credit to shared spans.
 */
export interface AdvantageGroupInput {
  id: string;
  /** One scalar reward per trajectory. */
  scores: ArrayLike<number>;
  /** One mask per trajectory over its response tokens (1 = policy token). */
  lossMasks: readonly Uint8Array[];
  tree?: RolloutTree;
}

/** Per-token advantages (and returns) for every trajectory, in input order. Zero at masked positions. */
export interface AdvantageGroupOutput {
  advantages: Float32Array[];
  returns: Float32Array[];
  /**
   * When present, the masks the loss must use instead of the input ones: an estimator that trains some tokens
   * in fewer rows (`arpo_hard` with `sharedTokens: 'once'` clears repeated copies of shared tokens) says so here.
   */
  lossMasks?: Uint8Array[];
}

/**
 * Turns scored groups into per-token advantages. Estimators see the whole batch (REINFORCE++ whitens across it)
 * and are registered by verl-compatible name.
 */
export interface AdvantageEstimator<Options = Record<string, unknown>> {
  readonly name: string;
  readonly description: string;
  estimate(groups: readonly AdvantageGroupInput[], options?: Options): AdvantageGroupOutput[];
}
