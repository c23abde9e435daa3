import { InvalidArgumentError, ValidationError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { applyOverlongPenalty, overlongPenalty } from './overlong-penalty.js';

const options = { maxResponseLength: 100, bufferLength: 20, penaltyFactor: 0.5 };

describe('overlongPenalty', () => {
  it('is 0 up to L - B and falls linearly to -f at L', () => {
    expect(overlongPenalty(50, options)).toBe(0);
    expect(overlongPenalty(80, options)).toBe(0);
    expect(overlongPenalty(90, options)).toBeCloseTo(-0.25, 12);
    expect(overlongPenalty(100, options)).toBeCloseTo(-0.5, 12);
    expect(overlongPenalty(110, options)).toBeCloseTo(-0.75, 12);
    // DAPO's values: L = 20480, B = 4096, f = 1.
    expect(overlongPenalty(18432, { maxResponseLength: 20480, bufferLength: 4096 })).toBeCloseTo(-0.5, 12);
  });

  it('adds the penalty to the total and records it as a component, keeping the raw metric', () => {
    const shaped = applyOverlongPenalty({ total: 1, components: { acc: 1 } }, 100, options);
    expect(shaped).toEqual({ total: 0.5, components: { acc: 1, overlong: -0.5 } });
  });

  it('rejects bad lengths and options', () => {
    let thrown: unknown;
    try {
      overlongPenalty(-1, options);
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect(() => overlongPenalty(10, { maxResponseLength: 10, bufferLength: 20 })).toThrow(ValidationError);
    expect(() => overlongPenalty(10, { maxResponseLength: 10, bufferLength: 0 })).toThrow(/bufferLength/);
  });
});
