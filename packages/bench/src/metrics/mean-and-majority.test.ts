import { describe, expect, it } from 'vitest';
import { majorityAtN, majorityVote } from './majority-at-n.js';
import { itemMeans, meanAtN } from './mean-at-n.js';
import { meanPassAtK } from './pass-at-k.js';

describe('meanAtN', () => {
  it('averages within items, then across items, and equals pass@1 for 0/1 scores', () => {
    const scores = [
      [1, 0, 0, 1],
      [0, 0, 0, 0],
      [1, 1, 1, 0],
    ];
    expect(Array.from(itemMeans(scores))).toEqual([0.5, 0, 0.75]);
    expect(meanAtN(scores)).toBeCloseTo(1.25 / 3, 12);
    const counts = scores.map((row) => ({
      samples: row.length,
      correct: row.filter((value) => value === 1).length,
    }));
    expect(meanAtN(scores)).toBeCloseTo(meanPassAtK({ items: counts, k: 1 }), 12);
  });

  it('gives unequal items equal weight and rejects empty items', () => {
    expect(meanAtN([[1], [0, 0, 0, 0]])).toBe(0.5);
    expect(() => meanAtN([[1], []])).toThrow(/scoresPerItem\[1\]/);
    expect(() => meanAtN([[Number.NaN]])).toThrow(/finite/);
  });
});

describe('majorityVote', () => {
  it('picks the most frequent answer, ignores abstentions and breaks ties by first appearance', () => {
    expect(
      majorityVote([
        { answer: '3', correct: false },
        { answer: undefined, correct: false },
        { answer: '4', correct: true },
        { answer: '4', correct: true },
      ]),
    ).toEqual({ answer: '4', votes: 2, correct: true });
    expect(
      majorityVote([
        { answer: 'b', correct: false },
        { answer: 'a', correct: true },
        { answer: 'a', correct: true },
        { answer: 'b', correct: false },
      ]),
    ).toEqual({ answer: 'b', votes: 2, correct: false });
    expect(majorityVote([{ answer: undefined, correct: false }])).toEqual({
      answer: undefined,
      votes: 0,
      correct: false,
    });
  });

  it('computes maj@n over items', () => {
    const items = [
      [
        { answer: '1', correct: true },
        { answer: '2', correct: false },
        { answer: '1', correct: true },
      ],
      [
        { answer: '7', correct: false },
        { answer: '7', correct: false },
        { answer: '8', correct: true },
      ],
    ];
    expect(majorityAtN(items)).toBe(0.5);
  });
});
