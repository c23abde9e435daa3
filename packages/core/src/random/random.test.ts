import { describe, expect, it } from 'vitest';
import { createRandom, deriveSeed } from './random.js';

describe('createRandom', () => {
  it('gives the same sequence for the same seed and different ones for different seeds', () => {
    const draw = (seed: number) => {
      const random = createRandom({ seed });
      return Array.from({ length: 8 }, () => random.nextUint32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it('implements xoshiro128** exactly (published test vector for state 1, 2, 3, 4)', () => {
    const random = createRandom({ state: { algorithm: 'xoshiro128**', words: [1, 2, 3, 4] } });
    const values = Array.from({ length: 6 }, () => random.nextUint32());
    expect(values).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('resumes exactly from a saved state', () => {
    const random = createRandom({ seed: 7 });
    for (let index = 0; index < 100; index++) random.normal();
    const saved = JSON.parse(JSON.stringify(random.state()));
    const expected = Array.from({ length: 10 }, () => random.next());
    const resumed = createRandom({ state: saved });
    expect(Array.from({ length: 10 }, () => resumed.next())).toEqual(expected);
  });

  it('produces roughly uniform floats in [0, 1) and standard normals', () => {
    const random = createRandom({ seed: 3 });
    let sum = 0;
    let sumSquares = 0;
    let minimum = 1;
    let maximum = 0;
    const count = 20_000;
    for (let index = 0; index < count; index++) {
      const value = random.next();
      minimum = Math.min(minimum, value);
      maximum = Math.max(maximum, value);
      const normal = random.normal();
      sum += normal;
      sumSquares += normal * normal;
    }
    expect(minimum).toBeGreaterThanOrEqual(0);
    expect(maximum).toBeLessThan(1);
    expect(Math.abs(sum / count)).toBeLessThan(0.05);
    expect(Math.abs(sumSquares / count - 1)).toBeLessThan(0.05);
  });

  it('derives independent, stable child streams', () => {
    const parent = createRandom({ seed: 11 });
    const childA = parent.derive('worker-a').nextUint32();
    const childB = parent.derive('worker-b').nextUint32();
    expect(childA).not.toBe(childB);
    expect(createRandom({ seed: 11 }).derive('worker-a').nextUint32()).toBe(childA);
    expect(deriveSeed(5, 0)).toBe(deriveSeed(5, 0));
    expect(deriveSeed(5, 0)).not.toBe(deriveSeed(5, 1));
  });

  it('shuffles deterministically and keeps every element', () => {
    const items = Array.from({ length: 20 }, (_, index) => index);
    const shuffled = createRandom({ seed: 9 }).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    expect(createRandom({ seed: 9 }).shuffle([...items])).toEqual(shuffled);
  });

  it('rejects non-finite seeds and bad states', () => {
    expect(() => createRandom({ seed: Number.NaN })).toThrow(/seed/);
    expect(() => createRandom({ state: { algorithm: 'xoshiro128**', words: [1, 2] as never } })).toThrow(
      /state/,
    );
  });
});
