import { createRandom, type Random } from '@arpo/core';

/** Bounds for a sampled shape; small by default so finite differences over every element stay fast. */
export interface ShapeBounds {
  minRank?: number;
  maxRank?: number;
  minDim?: number;
  maxDim?: number;
  /** Resample until the shape has at most this many elements. */
  maxElements?: number;
}

/** Seeded sampler of shapes, axes, permutations and indices for randomized gradient checks. */
export interface ShapeSampler {
  /** An integer in [low, high], both inclusive. */
  integer(low: number, high: number): number;
  /** True with the given probability. */
  chance(probability: number): boolean;
  shape(bounds?: ShapeBounds): number[];
  /**
   * `count` shapes that broadcast (numpy rules) to `full`: each is a suffix of `full` with some dims set to 1.
   * With two or more, the operands alone broadcast to `full`; a single one is an Expand source for `full`. At
   * least one differs from `full`, so every draw exercises the broadcast-undoing reduction.
   */
  broadcastShapes(count: number, bounds?: ShapeBounds): { shapes: number[][]; full: number[] };
  /** Distinct axes of a tensor of `rank`, in random order, each written positive or negative at random. */
  axes(rank: number, options?: { minCount?: number; maxCount?: number }): number[];
  /** A random permutation of 0..rank-1. */
  permutation(rank: number): number[];
  /** `count` indices in [0, limit), repeats allowed (they exercise gradient accumulation). */
  indices(count: number, limit: number): Int32Array;
  /** A fresh seed, for the values a gradient check draws. */
  seed(): number;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** Same seed, same sequence of shapes. */
export function createShapeSampler(seed: number): ShapeSampler {
  const random: Random = createRandom({ seed });
  const integer = (low: number, high: number) => low + random.integer(high - low + 1);
  const shape = (bounds: ShapeBounds = {}): number[] => {
    const minRank = bounds.minRank ?? 1;
    const maxRank = bounds.maxRank ?? 3;
    const minDim = bounds.minDim ?? 1;
    const maxDim = bounds.maxDim ?? 4;
    const maxElements = bounds.maxElements ?? 48;
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const rank = integer(minRank, maxRank);
      const dims = Array.from({ length: rank }, () => integer(minDim, maxDim));
      if (elementCount(dims) <= maxElements) return dims;
    }
    throw new Error(`no shape within bounds ${JSON.stringify(bounds)}`);
  };
  return {
    integer,
    chance: (probability) => random.next() < probability,
    shape,
    broadcastShapes(count, bounds = {}) {
      for (let attempt = 0; attempt < 10_000; attempt++) {
        // Dims of at least 2 in the full shape, so a 1 in an operand is a real broadcast.
        const full = shape({ minRank: 2, minDim: 2, maxDim: 3, maxElements: 36, ...bounds });
        const shapes = Array.from({ length: count }, () => {
          // A scalar now and then; otherwise a suffix of at least one axis, with some dims set to 1.
          const rank = random.next() < 0.15 ? 0 : integer(1, full.length);
          return full.slice(full.length - rank).map((dim) => (random.next() < 0.4 ? 1 : dim));
        });
        // The operands must still cover every output axis and size, or `full` is not their broadcast.
        const covers =
          count === 1 ||
          full.every((dim, axis) =>
            shapes.some((operand) => operand[operand.length - full.length + axis] === dim),
          );
        const broadcasts = shapes.some(
          (operand) => operand.length !== full.length || operand.some((dim, axis) => dim !== full[axis]),
        );
        if (covers && broadcasts) return { shapes, full };
      }
      throw new Error(`no broadcast draw of ${count} shapes within bounds ${JSON.stringify(bounds)}`);
    },
    axes(rank, options = {}) {
      const order = random.shuffle(Array.from({ length: rank }, (_, axis) => axis));
      const count = integer(options.minCount ?? 1, Math.min(options.maxCount ?? rank, rank));
      return order.slice(0, count).map((axis) => (random.next() < 0.5 ? axis : axis - rank));
    },
    permutation: (rank) => random.shuffle(Array.from({ length: rank }, (_, axis) => axis)),
    indices(count, limit) {
      return Int32Array.from({ length: count }, () => random.integer(limit));
    },
    seed: () => random.nextUint32(),
  };
}
