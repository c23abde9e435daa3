import { type AdvantageEstimator, advantageEstimatorRegistry } from '@arpo/core';
import { arpoHardEstimator } from '../estimators/arpo-hard-estimator.js';
import { arpoSoftEstimator, drGrpoEstimator, grpoEstimator } from '../estimators/grpo-estimator.js';
import {
  reinforcePlusPlusBaselineEstimator,
  reinforcePlusPlusEstimator,
} from '../estimators/reinforce-plus-plus-estimator.js';
import { rlooEstimator } from '../estimators/rloo-estimator.js';

/** Every estimator this package ships, keyed by its verl-compatible registry name. */
export const builtInEstimators: readonly AdvantageEstimator[] = [
  grpoEstimator,
  drGrpoEstimator,
  rlooEstimator,
  reinforcePlusPlusEstimator,
  reinforcePlusPlusBaselineEstimator,
  arpoSoftEstimator,
  arpoHardEstimator,
] as readonly AdvantageEstimator[];

/**
 * Registers the built-in estimators in the process-wide `advantageEstimatorRegistry()`. Idempotent, and leaves
 * alone a name someone already registered (a user's override of `grpo` survives a later import).
 */
export function registerBuiltInEstimators(): void {
  const registry = advantageEstimatorRegistry();
  for (const estimator of builtInEstimators) {
    if (!registry.has(estimator.name)) registry.register(estimator.name, estimator);
  }
}

/**
 * The estimator registered under `name` (built-in or custom). Throws `UnknownEntryError` listing the known
 * names.
 */
export function getAdvantageEstimator(name: string): AdvantageEstimator {
  registerBuiltInEstimators();
  return advantageEstimatorRegistry().get(name);
}
