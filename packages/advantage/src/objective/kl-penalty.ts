import { InvalidArgumentError, type KlEstimator } from '@arpo/core';
import { checkRows } from './check-rows.js';
import { clamp } from './policy-loss.js';

export const klEstimators: readonly KlEstimator[] = ['k1', 'abs', 'k2', 'k3', 'k1+', 'k2+', 'k3+'];

const verlNames: Readonly<Record<string, KlEstimator>> = {
  kl: 'k1',
  k1: 'k1',
  abs: 'abs',
  mse: 'k2',
  k2: 'k2',
  low_var_kl: 'k3',
  k3: 'k3',
  'k1+': 'k1+',
  'k2+': 'k2+',
  'k3+': 'k3+',
};

/** Maps verl's `kl_loss_type` / `kl_penalty` names (`kl`, `mse`, `low_var_kl`, ...) to ours. */
export function klEstimatorFromVerlName(name: string): KlEstimator {
  const estimator = verlNames[name];
  if (estimator === undefined) {
    throw new InvalidArgumentError({
      argument: 'name',
      message: `unknown KL estimator '${name}'; expected one of ${Object.keys(verlNames).join(', ')}`,
    });
  }
  return estimator;
}

function checkEstimator(estimator: KlEstimator): void {
  if (!klEstimators.includes(estimator)) {
    throw new InvalidArgumentError({
      argument: 'estimator',
      message: `unknown KL estimator '${String(estimator)}'; expected one of ${klEstimators.join(', ')}`,
    });
  }
}

const clampLogRatio = 20;
const clampValue = 10;

/**
 * Value of a per-token KL estimate of KL(π‖π_ref) from Δ = logprob - referenceLogprob (verl `kl_penalty`):
 * `k1` = Δ, `abs` = |Δ|, `k2` = Δ²/2, `k3` (low_var_kl) = e^{-Δ} + Δ - 1 with -Δ clamped to ±20 and the value to
 * ±10. The straight-through variants `k1+`, `k3+` have the value of k1/k3 and the gradient of k2 (verl computes
 * `k2 - k2.detach() + kX.detach()`); `k2+` is k2. Plain TypeScript has no autograd, so the value is what this
 * returns; `klPenaltyGradient` gives the gradient the trainer must reproduce.
 */
export function klPenalty(logprob: number, referenceLogprob: number, estimator: KlEstimator): number {
  const delta = logprob - referenceLogprob;
  switch (estimator) {
    case 'k1':
    case 'k1+':
      return delta;
    case 'abs':
      return Math.abs(delta);
    case 'k2':
    case 'k2+':
      return 0.5 * delta * delta;
    case 'k3':
    case 'k3+': {
      const kl = clamp(-delta, -clampLogRatio, clampLogRatio);
      return clamp(Math.exp(kl) - kl - 1, -clampValue, clampValue);
    }
  }
  checkEstimator(estimator);
  return Number.NaN;
}

/**
 * d(estimate)/d(logprob) as autograd sees it in verl: `k1` 1, `abs` sign(Δ), `k2` and every `+` variant Δ, `k3`
 * 1 - e^{-Δ} (0 where a clamp is active).
 */
export function klPenaltyGradient(logprob: number, referenceLogprob: number, estimator: KlEstimator): number {
  const delta = logprob - referenceLogprob;
  switch (estimator) {
    case 'k1':
      return 1;
    case 'abs':
      return Math.sign(delta);
    case 'k2':
    case 'k1+':
    case 'k2+':
    case 'k3+':
      return delta;
    case 'k3': {
      const kl = -delta;
      if (kl > clampLogRatio || kl < -clampLogRatio) return 0;
      const value = Math.exp(kl) - kl - 1;
      if (value > clampValue || value < -clampValue) return 0;
      return 1 - Math.exp(kl);
    }
  }
  checkEstimator(estimator);
  return Number.NaN;
}

/** `klPenalty` over a whole row. */
export function klPenalties(
  logprobs: ArrayLike<number>,
  referenceLogprobs: ArrayLike<number>,
  estimator: KlEstimator,
): Float64Array {
  checkEstimator(estimator);
  checkRows({ name: 'logprobs', rows: [logprobs] }, [
    { name: 'referenceLogprobs', rows: [referenceLogprobs] },
  ]);
  const result = new Float64Array(logprobs.length);
  for (let position = 0; position < result.length; position++) {
    result[position] = klPenalty(
      logprobs[position] as number,
      referenceLogprobs[position] as number,
      estimator,
    );
  }
  return result;
}
