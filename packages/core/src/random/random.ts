import { InvalidArgumentError } from '../errors/invalid-argument-error.js';

/** Serialisable generator state, for checkpoints and exact resume. */
export interface RandomState {
  readonly algorithm: 'xoshiro128**';
  readonly words: readonly [number, number, number, number];
}

/**
 * A seeded pseudo-random generator (xoshiro128**, 32-bit words, fast and good enough for sampling).
 * Everything random in ARPO.ts takes one of these or a seed; the same seed gives the same sequence on every
 * platform.
 */
export interface Random {
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number;
  /** Uniform unsigned 32-bit integer. */
  nextUint32(): number;
  /** Uniform integer in [0, maxExclusive). */
  integer(maxExclusive: number): number;
  /** Standard normal sample (Box-Muller, consumes two uniforms). */
  normal(): number;
  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[];
  /** A statistically independent child generator derived from this one's seed and a label. */
  derive(label: string | number): Random;
  /** Current state; `createRandom({ state })` continues from exactly here. */
  state(): RandomState;
}

function splitMix32(seed: number): () => number {
  let value = seed >>> 0;
  return () => {
    value = (value + 0x9e3779b9) >>> 0;
    let z = value;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a of a label, so `derive('worker-3')` is stable across runs and platforms. */
function hashLabel(label: string | number): number {
  const text = String(label);
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Mixes a seed with a label (or index) into a new 32-bit seed. Use it to give each request its own seed. */
export function deriveSeed(seed: number, label: string | number): number {
  const next = splitMix32((seed >>> 0) ^ hashLabel(label));
  next();
  return next();
}

function rotateLeft(value: number, shift: number): number {
  return ((value << shift) | (value >>> (32 - shift))) >>> 0;
}

export function createRandom(options: { seed: number } | { state: RandomState }): Random {
  let words: [number, number, number, number];
  let seed: number;
  if ('state' in options) {
    if (options.state.algorithm !== 'xoshiro128**' || options.state.words.length !== 4) {
      throw new InvalidArgumentError({ argument: 'state', message: 'not a xoshiro128** random state' });
    }
    words = [...options.state.words] as [number, number, number, number];
    seed = words[0] ^ words[3];
  } else {
    if (!Number.isFinite(options.seed)) {
      throw new InvalidArgumentError({
        argument: 'seed',
        message: `must be a finite number, got ${options.seed}`,
      });
    }
    seed = Math.trunc(options.seed) >>> 0;
    const next = splitMix32(seed);
    words = [next(), next(), next(), next()];
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
  }
  const nextUint32 = (): number => {
    const result = Math.imul(rotateLeft(Math.imul(words[1], 5) >>> 0, 7), 9) >>> 0;
    const shifted = (words[1] << 9) >>> 0;
    words[2] = (words[2] ^ words[0]) >>> 0;
    words[3] = (words[3] ^ words[1]) >>> 0;
    words[1] = (words[1] ^ words[2]) >>> 0;
    words[0] = (words[0] ^ words[3]) >>> 0;
    words[2] = (words[2] ^ shifted) >>> 0;
    words[3] = rotateLeft(words[3], 11);
    return result;
  };
  const next = (): number => nextUint32() / 4294967296;

  const random: Random = {
    next,
    nextUint32,
    integer(maxExclusive) {
      if (!Number.isInteger(maxExclusive) || maxExclusive <= 0) {
        throw new InvalidArgumentError({ argument: 'maxExclusive', message: `must be a positive integer` });
      }
      return Math.floor(next() * maxExclusive);
    },
    normal() {
      // No cached spare value: the whole generator state stays in `words`, so `state()` resumes exactly.
      let u = next();
      while (u === 0) u = next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    shuffle(items) {
      for (let index = items.length - 1; index > 0; index--) {
        const other = Math.floor(next() * (index + 1));
        const swap = items[index] as (typeof items)[number];
        items[index] = items[other] as (typeof items)[number];
        items[other] = swap;
      }
      return items;
    },
    derive: (label) => createRandom({ seed: deriveSeed(seed, label) }),
    state: () => ({ algorithm: 'xoshiro128**', words: [words[0], words[1], words[2], words[3]] }),
  };
  return random;
}
