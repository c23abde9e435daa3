import type { ForwardResult, TrainerBackend, TrainingDatum } from '@arpo/core';

/**
 * The frozen reference policy of the KL term: scores datums' targets without gradients. `runRlStep` fills
 * each datum's `referenceLogprobs` from it when `loss.klCoefficient` is above 0.
 */
export interface ReferenceModel {
  forward(batch: readonly TrainingDatum[]): Promise<ForwardResult>;
}

/**
 * A backend that can keep a frozen copy of its current weights as the reference, and save and reload it (so a
 * resumed run keeps the reference of its first step, not the weights of the checkpoint it resumes from).
 */
export interface ReferenceSource {
  /** Copies the current weights into a reference model. */
  freezeReference(): FrozenReferenceHandle;
  /** A reference saved by `FrozenReferenceHandle.save`. */
  loadReference(path: string): Promise<FrozenReferenceHandle>;
}

export interface FrozenReferenceHandle extends ReferenceModel {
  /** Writes the reference weights (safetensors, atomically) to `path`. */
  save(path: string): Promise<void>;
}

/** True when `backend` can freeze and reload a reference (the local engine can; remote ones need `reference`). */
export function isReferenceSource(backend: TrainerBackend): backend is TrainerBackend & ReferenceSource {
  const candidate = backend as Partial<ReferenceSource>;
  return typeof candidate.freezeReference === 'function' && typeof candidate.loadReference === 'function';
}
