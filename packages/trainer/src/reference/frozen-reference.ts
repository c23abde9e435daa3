import type { ForwardResult, TrainingDatum } from '@arpo/core';
import { type TensorValue, writeSafetensors } from '@arpo/tensor';
import type { FrozenReferenceHandle } from './reference-model.js';

/** The safetensors `format` of a saved reference. */
export const referenceFormat = 'arpo-frozen-reference';

/**
 * A frozen copy of a model's weights scored by a caller-given forward pass (the local engine's scoring graph),
 * so the reference and the old-policy logprobs come from the same computation.
 */
export class FrozenReference implements FrozenReferenceHandle {
  /** The frozen weights (copies: later optimizer steps do not touch them). */
  readonly parameters: ReadonlyMap<string, TensorValue>;
  private readonly score: (
    batch: readonly TrainingDatum[],
    parameters: ReadonlyMap<string, TensorValue>,
  ) => Promise<ForwardResult>;

  constructor(options: {
    parameters: ReadonlyMap<string, TensorValue>;
    score: (
      batch: readonly TrainingDatum[],
      parameters: ReadonlyMap<string, TensorValue>,
    ) => Promise<ForwardResult>;
  }) {
    this.parameters = options.parameters;
    this.score = options.score;
  }

  forward(batch: readonly TrainingDatum[]): Promise<ForwardResult> {
    return this.score(batch, this.parameters);
  }

  save(path: string): Promise<void> {
    return writeSafetensors(path, this.parameters, { format: referenceFormat });
  }
}
