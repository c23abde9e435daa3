import { InvalidArgumentError } from '@arpo/core';

/** A learning-rate schedule as data, so it can live in a config file and in a checkpoint. */
export type LearningRateSchedule =
  | { kind: 'constant'; learningRate: number }
  | {
      kind: 'warmup-cosine';
      peakLearningRate: number;
      /** Linear warmup from peak/warmupSteps to peak over this many steps. */
      warmupSteps: number;
      /** Step at which the cosine reaches `minLearningRate` (stays there afterwards). */
      totalSteps: number;
      minLearningRate?: number;
    };

/** Learning rate for the step with 0-based index `step`. */
export function learningRateAt(schedule: LearningRateSchedule, step: number): number {
  if (schedule.kind === 'constant') return schedule.learningRate;
  const { peakLearningRate, warmupSteps, totalSteps } = schedule;
  const minimum = schedule.minLearningRate ?? 0;
  if (warmupSteps < 0 || totalSteps < warmupSteps) {
    throw new InvalidArgumentError({ argument: 'schedule', message: 'need 0 <= warmupSteps <= totalSteps' });
  }
  if (step < warmupSteps) return (peakLearningRate * (step + 1)) / warmupSteps;
  if (step >= totalSteps) return minimum;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return minimum + 0.5 * (peakLearningRate - minimum) * (1 + Math.cos(Math.PI * progress));
}
