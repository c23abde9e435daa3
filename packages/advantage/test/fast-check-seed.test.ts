import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyRuns, propertySeed } from './support/fast-check-seed.js';

describe('property tests', () => {
  it('run with the fixed seed from the setup file', () => {
    expect(fc.readConfigureGlobal()).toMatchObject({ seed: propertySeed, numRuns: propertyRuns });
  });

  it('draw the same cases on every run', () => {
    const draw = () => {
      const cases: number[][] = [];
      fc.assert(
        fc.property(fc.array(fc.integer(), { maxLength: 4 }), (values) => {
          cases.push(values);
        }),
      );
      return cases;
    };
    const first = draw();
    expect(first).toHaveLength(propertyRuns);
    expect(draw()).toEqual(first);
  });
});
