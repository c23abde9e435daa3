import { InvalidArgumentError, type TrainingDatum } from '@arpo/core';
import type { TensorValue } from '@arpo/tensor';

/** Datums padded to one [batch, length] block, as the objective graphs take them. */
export interface PackedBatch {
  batch: number;
  length: number;
  inputIds: Int32Array;
  targetIds: Int32Array;
  weights: Float32Array;
  oldLogprobs: Float32Array;
  advantages: Float32Array;
  referenceLogprobs: Float32Array;
  /** Each datum's own length. */
  lengths: Int32Array;
}

/** Pads datums (right padding, weight 0) into one block; checks the Tinker alignment of every array. */
export function packBatch(batch: readonly TrainingDatum[], options: { contextLength: number }): PackedBatch {
  if (batch.length === 0) throw new InvalidArgumentError({ argument: 'batch', message: 'is empty' });
  const lengths = Int32Array.from(batch, (datum) => datum.inputTokenIds.length);
  const length = lengths.reduce((maximum, value) => Math.max(maximum, value), 1);
  if (length > options.contextLength) {
    throw new InvalidArgumentError({
      argument: 'batch',
      message: `a datum has ${length} input tokens; the model's context is ${options.contextLength}`,
    });
  }
  const size = batch.length * length;
  const packed: PackedBatch = {
    batch: batch.length,
    length,
    inputIds: new Int32Array(size),
    targetIds: new Int32Array(size),
    weights: new Float32Array(size),
    oldLogprobs: new Float32Array(size),
    advantages: new Float32Array(size),
    referenceLogprobs: new Float32Array(size),
    lengths,
  };
  batch.forEach((datum, row) => {
    const own = datum.inputTokenIds.length;
    const check = (name: string, values: ArrayLike<number> | undefined) => {
      if (values !== undefined && values.length !== own) {
        throw new InvalidArgumentError({
          argument: `batch[${row}].${name}`,
          message: `has ${values.length} entries; inputTokenIds has ${own}`,
        });
      }
    };
    check('targetTokenIds', datum.targetTokenIds);
    check('weights', datum.weights);
    check('logprobs', datum.logprobs);
    check('advantages', datum.advantages);
    check('referenceLogprobs', datum.referenceLogprobs);
    const offset = row * length;
    packed.inputIds.set(datum.inputTokenIds, offset);
    packed.targetIds.set(datum.targetTokenIds, offset);
    if (datum.weights === undefined) packed.weights.fill(1, offset, offset + own);
    else packed.weights.set(datum.weights, offset);
    if (datum.logprobs !== undefined) packed.oldLogprobs.set(datum.logprobs, offset);
    if (datum.advantages !== undefined) packed.advantages.set(datum.advantages, offset);
    if (datum.referenceLogprobs !== undefined) packed.referenceLogprobs.set(datum.referenceLogprobs, offset);
  });
  return packed;
}

/** Row `row` of a [batch, length] output, cut to the datum's own length. */
export function unpackRow(values: Float32Array, packed: PackedBatch, row: number): Float32Array {
  const start = row * packed.length;
  return values.slice(start, start + (packed.lengths[row] as number));
}

/** The per-token feeds of a packed batch. */
export function packedFeeds(packed: PackedBatch): Record<string, TensorValue> {
  const shape = [packed.batch, packed.length];
  return {
    input_ids: { data: packed.inputIds, shape },
    target_ids: { data: packed.targetIds, shape },
  };
}

/** Each row's weights, for normalisers. */
export function weightRows(packed: PackedBatch): Float32Array[] {
  return Array.from({ length: packed.batch }, (_, row) => unpackRow(packed.weights, packed, row));
}
