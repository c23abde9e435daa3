import type { TrainerBackend } from '@arpo/core';

/**
 * What a backend exposes so a loop can check the accumulated gradients before `optimStep` and drop them (the
 * local engine does). Without it, a loop can only rely on the backend's own non-finite check in `optimStep`.
 */
export interface GradientControl {
  /** Global L2 norm of the gradients accumulated since the last `optimStep` (NaN or Infinity when poisoned). */
  accumulatedGradientNorm(): number;
  /** Drops the accumulated gradients without touching weights or optimizer state. */
  discardGradients(): void;
}

export function hasGradientControl(backend: TrainerBackend): backend is TrainerBackend & GradientControl {
  const candidate = backend as Partial<GradientControl>;
  return (
    typeof candidate.accumulatedGradientNorm === 'function' &&
    typeof candidate.discardGradients === 'function'
  );
}
