import { type AdvantageGroupInput, InvalidArgumentError, ValidationError } from '@arpo/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstTokenValues, makeGroup, maxDifference } from '../../test/support/groups.js';
import { randomTreeGroup } from '../../test/support/random-tree.js';
import { builtInEstimators, getAdvantageEstimator } from '../registry/built-in-estimators.js';
import { drGrpoEstimator, estimateGrpo, grpoEstimator } from './grpo-estimator.js';
import { rlooEstimator } from './rloo-estimator.js';

const tolerance = 1e-6;

function scalarAdvantages(
  estimate: (groups: readonly AdvantageGroupInput[]) => { advantages: Float32Array[] }[],
  scores: number[],
) {
  const group = makeGroup('g', scores);
  return firstTokenValues(estimate([group])[0]!.advantages, group.lossMasks);
}

describe('grpo (acceptance values from verl formulas)', () => {
  it('[1, 0, 1, 1] → [0.499999, -1.499997, 0.499999, 0.499999]', () => {
    const values = scalarAdvantages((groups) => grpoEstimator.estimate(groups), [1, 0, 1, 1]);
    expect(maxDifference(values, [0.499999, -1.499997, 0.499999, 0.499999])).toBeLessThan(tolerance);
  });

  it('all-equal group → zeros', () => {
    expect(scalarAdvantages((groups) => grpoEstimator.estimate(groups), [0.3, 0.3, 0.3])).toEqual([0, 0, 0]);
  });

  it('singleton [1] → 0.999999', () => {
    const values = scalarAdvantages((groups) => grpoEstimator.estimate(groups), [1]);
    expect(maxDifference(values, [0.999999])).toBeLessThan(tolerance);
  });

  it('[0.5, 0.2] → [0.7071035, -0.7071035]', () => {
    const values = scalarAdvantages((groups) => grpoEstimator.estimate(groups), [0.5, 0.2]);
    expect(maxDifference(values, [0.7071035, -0.7071035])).toBeLessThan(tolerance);
  });

  it('Dr.GRPO [1, 0, 1, 1] → [0.25, -0.75, 0.25, 0.25]', () => {
    const values = scalarAdvantages((groups) => drGrpoEstimator.estimate(groups), [1, 0, 1, 1]);
    expect(maxDifference(values, [0.25, -0.75, 0.25, 0.25])).toBeLessThan(tolerance);
  });

  it('RLOO [1, 0, 1, 1] → [1/3, -1, 1/3, 1/3]; a singleton keeps its score', () => {
    const values = scalarAdvantages((groups) => rlooEstimator.estimate(groups), [1, 0, 1, 1]);
    expect(maxDifference(values, [1 / 3, -1, 1 / 3, 1 / 3])).toBeLessThan(tolerance);
    expect(scalarAdvantages((groups) => rlooEstimator.estimate(groups), [0.4])).toEqual([Math.fround(0.4)]);
  });

  it('broadcasts to every response token and multiplies by the mask; returns equal advantages', () => {
    const group: AdvantageGroupInput = {
      id: 'g',
      scores: [1, 0],
      lossMasks: [Uint8Array.of(1, 1, 0, 0, 1), Uint8Array.of(0, 1)],
    };
    const [output] = estimateGrpo([group]);
    const a = 0.5 / (Math.SQRT1_2 + 1e-6);
    expect(maxDifference(output!.advantages[0]!, [a, a, 0, 0, a])).toBeLessThan(1e-6);
    expect(maxDifference(output!.advantages[1]!, [0, -a])).toBeLessThan(1e-6);
    expect(output!.advantages[0]).toBeInstanceOf(Float32Array);
    expect(output!.returns).toEqual(output!.advantages);
  });

  it('normalises each group separately', () => {
    const output = estimateGrpo([makeGroup('a', [1, 0]), makeGroup('b', [5, 5, 5])]);
    expect(output[1]!.advantages.every((row) => row.every((value) => value === 0))).toBe(true);
    expect(output[0]!.advantages[0]![0]).toBeGreaterThan(0.7);
  });

  it('honours population std and epsilon options, and rejects unknown options', () => {
    const group = makeGroup('g', [1, 0]);
    const population = estimateGrpo([group], { standardDeviation: 'population', epsilon: 0 });
    expect(population[0]!.advantages[0]![0]).toBeCloseTo(1, 6);
    let thrown: unknown;
    try {
      grpoEstimator.estimate([group], { epsilon: -1 });
    } catch (error) {
      thrown = error;
    }
    expect(ValidationError.isInstance(thrown)).toBe(true);
    expect(() => grpoEstimator.estimate([group], { espilon: 1 } as never)).toThrow(/espilon/);
    expect(() => drGrpoEstimator.estimate([group], { epsilon: 1 } as never)).toThrow(ValidationError);
  });
});

describe('estimator input checks', () => {
  const cases: { name: string; group: unknown; argument: RegExp }[] = [
    { name: 'empty group', group: { id: 'e', scores: [], lossMasks: [] }, argument: /scores/ },
    {
      name: 'mismatched lengths',
      group: { id: 'm', scores: [1, 0], lossMasks: [new Uint8Array(2)] },
      argument: /lossMasks/,
    },
    {
      name: 'NaN reward',
      group: { id: 'n', scores: [1, Number.NaN], lossMasks: [new Uint8Array(1), new Uint8Array(1)] },
      argument: /scores\[1\]/,
    },
    {
      name: 'mask not a Uint8Array',
      group: { id: 'u', scores: [1], lossMasks: [[1, 1]] },
      argument: /lossMasks\[0\]/,
    },
    {
      name: 'mask value 2',
      group: { id: 'v', scores: [1], lossMasks: [Uint8Array.of(1, 2)] },
      argument: /lossMasks\[0\]\[1\]/,
    },
  ];
  // Every built-in, looked up by name: a new estimator is covered without editing this list.
  const names = builtInEstimators.map((estimator) => estimator.name);

  it('covers all seven built-in estimators', () => {
    expect(new Set(names).size).toBe(7);
  });

  for (const testCase of cases) {
    it(`rejects ${testCase.name} with InvalidArgumentError for every estimator`, () => {
      for (const name of names) {
        let thrown: unknown;
        try {
          getAdvantageEstimator(name).estimate([
            makeGroup('ok', [1, 0]),
            testCase.group as AdvantageGroupInput,
          ]);
        } catch (error) {
          thrown = error;
        }
        expect(InvalidArgumentError.isInstance(thrown), name).toBe(true);
        expect((thrown as InvalidArgumentError).argument, name).toMatch(/^groups\[1\]/);
        expect((thrown as InvalidArgumentError).argument, name).toMatch(testCase.argument);
      }
    });
  }
});

const scoresArbitrary = fc.array(fc.double({ min: -100, max: 100, noNaN: true }), {
  minLength: 1,
  maxLength: 12,
});

describe('grpo properties', () => {
  it('advantages have zero mean per group', () => {
    fc.assert(
      fc.property(fc.array(scoresArbitrary, { minLength: 1, maxLength: 4 }), (groupScores) => {
        const groups = groupScores.map((scores, index) =>
          makeGroup(
            `g${index}`,
            scores,
            scores.map(() => 1),
          ),
        );
        estimateGrpo(groups).forEach((output, index) => {
          const values = firstTokenValues(output.advantages, groups[index]!.lossMasks);
          if (values.length === 1) return; // singleton: verl keeps the raw score
          const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
          expect(Math.abs(mean)).toBeLessThan(1e-5);
        });
      }),
    );
  });

  it('is invariant to shifting all rewards of a group', () => {
    fc.assert(
      fc.property(
        scoresArbitrary.filter((scores) => scores.length > 1),
        fc.double({ min: -50, max: 50, noNaN: true }),
        (scores, shift) => {
          const base = scalarAdvantages((groups) => estimateGrpo(groups), scores);
          const shifted = scalarAdvantages(
            (groups) => estimateGrpo(groups),
            scores.map((score) => score + shift),
          );
          expect(maxDifference(base, shifted)).toBeLessThan(1e-4);
        },
      ),
    );
  });

  it('arpo_soft and grpo both equal an inline verl GRPO over the M rewards of a tree (property)', () => {
    // verl compute_grpo_outcome_advantage, written out independently: torch.std (unbiased) + 1e-6; a singleton
    // group has mean 0 and std 1; the scalar is broadcast and multiplied by the response mask.
    const verlGrpo = (scores: readonly number[], masks: readonly Uint8Array[]): number[][] => {
      const count = scores.length;
      const mean = count === 1 ? 0 : scores.reduce((sum, score) => sum + score, 0) / count;
      const std =
        count === 1
          ? 1
          : Math.sqrt(scores.reduce((sum, score) => sum + (score - mean) ** 2, 0) / (count - 1));
      return masks.map((mask, index) =>
        Array.from(mask, (bit) => (bit * (scores[index]! - mean)) / (std + 1e-6)),
      );
    };
    // Trees whose trajectories (and masks) are built from the tree structure, shared spans included.
    const treeGroups = fc
      .array(
        fc
          .integer({ min: 1, max: 8 })
          .chain((count) =>
            fc.tuple(
              fc.integer(),
              fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: count, maxLength: count }),
            ),
          ),
        { minLength: 1, maxLength: 3 },
      )
      .map((cases) =>
        cases.map(([seed, scores], index) => ({
          ...randomTreeGroup({ seed, count: scores.length, scores, sharedSpans: true }),
          id: `tree${index}`,
        })),
      );
    fc.assert(
      fc.property(treeGroups, (groups) => {
        for (const name of ['arpo_soft', 'grpo']) {
          const outputs = getAdvantageEstimator(name).estimate(groups);
          outputs.forEach((output, groupIndex) => {
            const group = groups[groupIndex]!;
            const expected = verlGrpo(Array.from(group.scores), group.lossMasks);
            output.advantages.forEach((row, trajectory) => {
              expect(maxDifference(row, expected[trajectory]!), `${name} ${group.id}`).toBeLessThan(1e-5);
            });
          });
        }
      }),
    );
  });

  it('RLOO equals each score minus the mean of the others', () => {
    fc.assert(
      fc.property(
        scoresArbitrary.filter((scores) => scores.length > 1),
        (scores) => {
          const values = scalarAdvantages((groups) => rlooEstimator.estimate(groups), scores);
          const expected = scores.map((score, index) => {
            const others = scores.filter((_, other) => other !== index);
            return score - others.reduce((sum, value) => sum + value, 0) / others.length;
          });
          for (let index = 0; index < values.length; index++) {
            expect(Math.abs(values[index]! - expected[index]!)).toBeLessThan(
              1e-4 * (1 + Math.abs(expected[index]!)),
            );
          }
        },
      ),
    );
  });
});
