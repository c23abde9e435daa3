import type { Trajectory } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { trajectoryToDatum } from './sequence-datum.js';

// Only the fields trajectoryToDatum reads.
const trajectory = {
  promptTokenIds: Int32Array.from([5, 6]),
  responseTokenIds: Int32Array.from([7, 8, 9]),
  lossMask: Uint8Array.from([1, 0, 1]),
  logprobs: Float32Array.from([-0.5, 0, -0.25]),
} as unknown as Trajectory;

describe('trajectoryToDatum', () => {
  it('shifts response data onto targets and weights the trajectory mask', () => {
    const datum = trajectoryToDatum(trajectory, Float32Array.from([2, 0, 3]));
    expect(Array.from(datum.inputTokenIds)).toEqual([5, 6, 7, 8]);
    expect(Array.from(datum.targetTokenIds)).toEqual([6, 7, 8, 9]);
    expect(Array.from(datum.weights ?? [])).toEqual([0, 1, 0, 1]);
    expect(Array.from(datum.advantages ?? [])).toEqual([0, 2, 0, 3]);
    expect(Array.from(datum.logprobs ?? [])).toEqual([0, -0.5, 0, -0.25]);
  });

  it("uses an estimator's mask when it gives one (arpo_hard trains a shared token once)", () => {
    const datum = trajectoryToDatum(trajectory, Float32Array.from([0, 0, 3]), Uint8Array.from([0, 0, 1]));
    expect(Array.from(datum.weights ?? [])).toEqual([0, 0, 0, 1]);
  });
});
