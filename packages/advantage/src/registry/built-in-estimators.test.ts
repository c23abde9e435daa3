import {
  type AdvantageEstimator,
  advantageEstimatorRegistry,
  InvalidArgumentError,
  UnknownEntryError,
} from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { makeGroup } from '../../test/support/groups.js';
import { getAdvantageEstimator, registerBuiltInEstimators } from './built-in-estimators.js';

const builtInNames = [
  'arpo_hard',
  'arpo_soft',
  'dr_grpo',
  'grpo',
  'reinforce_plus_plus',
  'reinforce_plus_plus_baseline',
  'rloo',
];

describe('estimator registry', () => {
  it('registers every built-in estimator under its verl name when the package is imported', async () => {
    await import('../index.js');
    const registry = advantageEstimatorRegistry();
    for (const name of builtInNames) {
      expect(registry.has(name)).toBe(true);
      expect(registry.get(name).name).toBe(name);
    }
  });

  it('is idempotent and keeps a user override of a built-in name', () => {
    const registry = advantageEstimatorRegistry();
    const original = registry.get('rloo');
    const custom: AdvantageEstimator = { name: 'rloo', description: 'custom', estimate: () => [] };
    registry.register('rloo', custom, { override: true });
    try {
      registerBuiltInEstimators();
      registerBuiltInEstimators();
      expect(getAdvantageEstimator('rloo')).toBe(custom);
    } finally {
      registry.register('rloo', original, { override: true });
    }
  });

  it('looks up custom estimators by name', () => {
    const constant: AdvantageEstimator = {
      name: 'test_constant',
      description: 'one everywhere',
      estimate: (groups) =>
        groups.map((group) => {
          const advantages = group.lossMasks.map((mask) => Float32Array.from(mask));
          return { advantages, returns: advantages };
        }),
    };
    advantageEstimatorRegistry().register('test_constant', constant);
    const [output] = getAdvantageEstimator('test_constant').estimate([makeGroup('g', [0, 5])]);
    expect(Array.from(output!.advantages[1]!)).toEqual([1, 1, 1]);
    expect(() => advantageEstimatorRegistry().register('test_constant', constant)).toThrow(
      InvalidArgumentError,
    );
  });

  it('throws UnknownEntryError listing the known names for an unknown estimator', () => {
    let thrown: unknown;
    try {
      getAdvantageEstimator('gae');
    } catch (error) {
      thrown = error;
    }
    expect(UnknownEntryError.isInstance(thrown)).toBe(true);
    const error = thrown as UnknownEntryError;
    expect(error.entry).toBe('gae');
    for (const name of builtInNames) expect(error.knownEntries).toContain(name);
    expect(error.message).toMatch(/Unknown advantage estimator 'gae'\. Known: .*grpo/);
  });
});
