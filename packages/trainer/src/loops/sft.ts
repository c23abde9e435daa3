import {
  createRandom,
  type EventSink,
  InvalidArgumentError,
  silentEventSink,
  type TrainerBackend,
} from '@arpo/core';
import { type LearningRateSchedule, learningRateAt } from '@arpo/tensor';
import { sequenceToDatum, type TokenSequence } from '../data/sequence-datum.js';

export interface SftOptions {
  backend: TrainerBackend;
  sequences: readonly TokenSequence[];
  epochs: number;
  /** Sequences per optimizer step. */
  batchSize: number;
  learningRate: number | LearningRateSchedule;
  weightDecay?: number;
  maxGradientNorm?: number;
  seed: number;
  /** Sequences longer than this many tokens (prompt + response) are cut. Default: no limit. */
  maxTokens?: number;
  events?: EventSink;
  /** Called after every optimizer step. */
  onStep?: (step: {
    step: number;
    epoch: number;
    loss: number;
    learningRate: number;
    gradientNorm: number;
  }) => void;
  signal?: AbortSignal;
}

export interface SftResult {
  steps: number;
  /** Mean loss of each epoch. */
  epochLosses: number[];
}

/**
 * Supervised fine-tuning (the cold start): masked cross-entropy on the model's own turns of the demonstrations
 * (tool output has weight 0), token-mean per batch, AdamW through the backend. Shuffled per epoch from `seed`.
 */
export async function runSft(options: SftOptions): Promise<SftResult> {
  if (options.sequences.length === 0)
    throw new InvalidArgumentError({ argument: 'sequences', message: 'is empty' });
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new InvalidArgumentError({
      argument: 'batchSize',
      message: `must be a positive integer, got ${options.batchSize}`,
    });
  }
  const events = options.events ?? silentEventSink;
  const random = createRandom({ seed: options.seed }).derive('sft');
  const data = options.sequences.map((sequence) => {
    const limit = options.maxTokens;
    if (limit === undefined || sequence.promptTokenIds.length + sequence.responseTokenIds.length <= limit) {
      return sequenceToDatum(sequence);
    }
    const keep = Math.max(1, limit - sequence.promptTokenIds.length);
    return sequenceToDatum({
      promptTokenIds: sequence.promptTokenIds,
      responseTokenIds: Array.from(sequence.responseTokenIds).slice(0, keep),
      lossMask: Array.from(sequence.lossMask).slice(0, keep),
    });
  });
  const stepsPerEpoch = Math.ceil(data.length / options.batchSize);
  const epochLosses: number[] = [];
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = random.shuffle(data.map((_, index) => index));
    let lossSum = 0;
    for (let batchIndex = 0; batchIndex < stepsPerEpoch; batchIndex++) {
      if (options.signal?.aborted) return { steps: step, epochLosses };
      const batch = order
        .slice(batchIndex * options.batchSize, (batchIndex + 1) * options.batchSize)
        .map((index) => data[index]!);
      events.emit({ type: 'step-start', step });
      const result = await options.backend.forwardBackward(batch, { lossFunction: 'cross_entropy' });
      const learningRate =
        typeof options.learningRate === 'number'
          ? options.learningRate
          : learningRateAt(options.learningRate, step);
      const optimizer = await options.backend.optimStep({
        learningRate,
        weightDecay: options.weightDecay ?? 0,
        ...(options.maxGradientNorm === undefined ? {} : { maxGradientNorm: options.maxGradientNorm }),
      });
      const loss = result.metrics.loss ?? Number.NaN;
      lossSum += loss;
      const metrics = {
        loss,
        learning_rate: learningRate,
        gradient_norm: optimizer.metrics.gradient_norm ?? 0,
      };
      events.emit({ type: 'step-end', step, metrics });
      options.onStep?.({ step, epoch, loss, learningRate, gradientNorm: metrics.gradient_norm });
      step += 1;
    }
    epochLosses.push(lossSum / stepsPerEpoch);
  }
  return { steps: step, epochLosses };
}
