import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorValue } from '../runtime/compiled-graph.js';
import { AdamW } from './adamw.js';
import { clipByGlobalNorm, globalNorm } from './clip-gradients.js';
import { learningRateAt } from './learning-rate-schedule.js';

const value = (...values: number[]): TensorValue => ({
  data: Float32Array.from(values),
  shape: [values.length],
});

describe('AdamW', () => {
  it('matches the reference update (bias correction, decoupled weight decay)', () => {
    const parameters = new Map([['w', value(1, -2)]]);
    const optimizer = new AdamW({
      learningRate: 0.1,
      beta1: 0.9,
      beta2: 0.99,
      epsilon: 1e-8,
      weightDecay: 0.5,
    });
    const gradients = [value(0.5, -1), value(-0.25, 2)];
    const expected = [1, -2];
    const m = [0, 0];
    const v = [0, 0];
    for (const [step, gradient] of gradients.entries()) {
      optimizer.apply(parameters, new Map([['w', gradient]]));
      for (let index = 0; index < 2; index++) {
        const g = gradient.data[index] as number;
        m[index] = 0.9 * m[index]! + 0.1 * g;
        v[index] = 0.99 * v[index]! + 0.01 * g * g;
        const mHat = m[index]! / (1 - 0.9 ** (step + 1));
        const vHat = v[index]! / (1 - 0.99 ** (step + 1));
        expected[index] = expected[index]! * (1 - 0.1 * 0.5) - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-8);
      }
    }
    const actual = parameters.get('w')!.data as Float32Array;
    expect(actual[0]).toBeCloseTo(expected[0]!, 5);
    expect(actual[1]).toBeCloseTo(expected[1]!, 5);
    expect(optimizer.step).toBe(2);
  });

  it('clips by global norm inside the update and reports the norm', () => {
    const parameters = new Map([
      ['a', value(0, 0)],
      ['b', value(0)],
    ]);
    const optimizer = new AdamW({ learningRate: 1, weightDecay: 0, maxGradientNorm: 1 });
    const result = optimizer.apply(
      parameters,
      new Map([
        ['a', value(3, 0)],
        ['b', value(4)],
      ]),
    );
    expect(result.gradientNorm).toBeCloseTo(5, 6);
    expect(result.clipScale).toBeCloseTo(0.2, 6);
    const gradients = [value(3, 0), value(4)];
    expect(clipByGlobalNorm(gradients, 2.5).norm).toBeCloseTo(5, 6);
    expect(globalNorm(gradients)).toBeCloseTo(2.5, 4);
  });

  it('skips weight decay where the filter says so', () => {
    const parameters = new Map([
      ['matrix', value(1)],
      ['bias', value(1)],
    ]);
    const optimizer = new AdamW({ learningRate: 0.1, weightDecay: 1, decay: (name) => name !== 'bias' });
    optimizer.apply(
      parameters,
      new Map([
        ['matrix', value(0)],
        ['bias', value(0)],
      ]),
    );
    expect((parameters.get('matrix')!.data as Float32Array)[0]).toBeCloseTo(0.9, 6);
    expect((parameters.get('bias')!.data as Float32Array)[0]).toBe(1);
  });

  it('saves and loads its state so a resumed run continues exactly', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-adamw-'));
    try {
      const schedule = {
        kind: 'warmup-cosine',
        peakLearningRate: 0.05,
        warmupSteps: 2,
        totalSteps: 6,
      } as const;
      const gradientAt = (step: number) => new Map([['w', value(Math.sin(step), Math.cos(step))]]);
      const continuous = new Map([['w', value(0.5, 0.5)]]);
      const first = new AdamW({ learningRate: schedule });
      for (let step = 0; step < 5; step++) first.apply(continuous, gradientAt(step));

      const resumed = new Map([['w', value(0.5, 0.5)]]);
      const before = new AdamW({ learningRate: schedule });
      for (let step = 0; step < 3; step++) before.apply(resumed, gradientAt(step));
      await before.save(join(directory, 'optimizer.safetensors'));
      const after = new AdamW({ learningRate: schedule });
      await after.load(join(directory, 'optimizer.safetensors'));
      expect(after.step).toBe(3);
      for (let step = 3; step < 5; step++) after.apply(resumed, gradientAt(step));
      expect(Array.from(resumed.get('w')!.data as Float32Array)).toEqual(
        Array.from(continuous.get('w')!.data as Float32Array),
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('takes a per-step learning-rate override', () => {
    const parameters = new Map([['w', value(1)]]);
    const optimizer = new AdamW({ learningRate: 0.5, weightDecay: 0 });
    const result = optimizer.apply(parameters, new Map([['w', value(2)]]), { learningRate: 0.01 });
    expect(result.learningRate).toBe(0.01);
    expect((parameters.get('w')!.data as Float32Array)[0]).toBeCloseTo(0.99, 6);
  });

  it('rejects invalid options', () => {
    expect(() => new AdamW({ learningRate: -1 })).toThrow(/AdamW options/);
  });
});

describe('learning-rate schedules', () => {
  it('constant and warmup + cosine', () => {
    expect(learningRateAt({ kind: 'constant', learningRate: 0.3 }, 100)).toBe(0.3);
    const schedule = {
      kind: 'warmup-cosine',
      peakLearningRate: 1,
      warmupSteps: 4,
      totalSteps: 14,
      minLearningRate: 0.1,
    } as const;
    expect(learningRateAt(schedule, 0)).toBeCloseTo(0.25);
    expect(learningRateAt(schedule, 3)).toBeCloseTo(1);
    expect(learningRateAt(schedule, 4)).toBeCloseTo(1);
    expect(learningRateAt(schedule, 9)).toBeCloseTo(0.55);
    expect(learningRateAt(schedule, 14)).toBeCloseTo(0.1);
    expect(learningRateAt(schedule, 50)).toBeCloseTo(0.1);
  });
});
