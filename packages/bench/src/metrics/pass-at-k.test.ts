import { InvalidArgumentError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { defaultPassAtKValues, meanPassAtK, passAtK, passAtKPerItem } from './pass-at-k.js';

function binomial(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let result = 1n;
  for (let index = 1; index <= k; index++) result = (result * BigInt(n - k + index)) / BigInt(index);
  return result;
}

/** The closed form 1 - C(n-c, k) / C(n, k), with exact big-integer binomials. */
function closedForm(n: number, c: number, k: number): number {
  const numerator = binomial(n - c, k);
  const denominator = binomial(n, k);
  // Scale to keep 15 significant digits before converting.
  const scale = 10n ** 18n;
  return 1 - Number((numerator * scale) / denominator) / 1e18;
}

describe('passAtK', () => {
  it('matches hand-computed values', () => {
    expect(passAtK({ samples: 10, correct: 0, k: 1 })).toBe(0);
    expect(passAtK({ samples: 10, correct: 3, k: 1 })).toBeCloseTo(0.3, 12);
    // 1 - C(2,2)/C(4,2) = 1 - 1/6
    expect(passAtK({ samples: 4, correct: 2, k: 2 })).toBeCloseTo(5 / 6, 12);
    // n - c < k: some correct sample is always drawn.
    expect(passAtK({ samples: 5, correct: 4, k: 2 })).toBe(1);
    expect(passAtK({ samples: 5, correct: 5, k: 5 })).toBe(1);
  });

  it('matches the closed form 1 - C(n-c,k)/C(n,k) on a grid of cases, including huge binomials', () => {
    for (const n of [1, 2, 5, 16, 64, 200]) {
      for (let c = 0; c <= n; c += Math.max(1, Math.floor(n / 7))) {
        for (let k = 1; k <= n; k += Math.max(1, Math.floor(n / 5))) {
          expect(passAtK({ samples: n, correct: c, k })).toBeCloseTo(closedForm(n, c, k), 12);
        }
      }
    }
  });

  it('is stable where naive binomials overflow doubles', () => {
    // C(2000, 1000) is about 2e600, far above Number.MAX_VALUE.
    const value = passAtK({ samples: 2000, correct: 1, k: 1000 });
    expect(value).toBeCloseTo(0.5, 12);
    expect(Number.isFinite(passAtK({ samples: 2000, correct: 37, k: 999 }))).toBe(true);
  });

  it('averages over items and validates inputs with typed errors', () => {
    const items = [
      { samples: 4, correct: 0 },
      { samples: 4, correct: 4 },
      { samples: 4, correct: 2 },
    ];
    expect(Array.from(passAtKPerItem({ items, k: 2 }))).toEqual([
      0,
      1,
      passAtK({ samples: 4, correct: 2, k: 2 }),
    ]);
    expect(meanPassAtK({ items, k: 2 })).toBeCloseTo((0 + 1 + 5 / 6) / 3, 12);
    expect(() => passAtK({ samples: 4, correct: 5, k: 1 })).toThrow(/correct/);
    expect(() => passAtK({ samples: 4, correct: 1, k: 5 })).toThrow(/k must be/);
    try {
      meanPassAtK({ items: [{ samples: 2, correct: 1 }], k: 3 });
      expect.unreachable();
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect(String(error)).toMatch(/items\[0\]/);
    }
  });

  it('lists default k values', () => {
    expect(defaultPassAtKValues(10)).toEqual([1, 2, 4, 8, 10]);
    expect(defaultPassAtKValues(8)).toEqual([1, 2, 4, 8]);
    expect(defaultPassAtKValues(1)).toEqual([1]);
  });
});
