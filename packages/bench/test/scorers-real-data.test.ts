import { describe, expect, it } from 'vitest';
import { loadBenchmark } from '../src/datasets/load-benchmark.js';
import { extractAnswer } from '../src/scorers/extract-answer.js';
import { normalizeMathAnswer, parseWrittenNumber } from '../src/scorers/math-equivalence.js';
import {
  createDefaultScorer,
  createMathScorer,
  createNumericScorer,
  createTextScorer,
} from '../src/scorers/rule-scorers.js';
import { benchmarkFile } from './support/shared-data.js';

const wrap = (answer: string) =>
  `<think>working</think><answer>The final answer is \\[ \\boxed{${answer}} \\]</answer>`;

describe('scorers on the real benchmark answers', () => {
  it("math500: every reference, boxed in a response, scores correct; another item's answer almost never does", async () => {
    const { items } = await loadBenchmark({ path: benchmarkFile('math500') });
    expect(items).toHaveLength(500);
    const scorer = createMathScorer();
    for (const item of items) {
      const result = scorer.score({ item, response: wrap(item.references[0] as string) }) as {
        correct: boolean;
      };
      expect(result.correct, `${item.id}: ${item.references[0]}`).toBe(true);
    }
    // Shift answers by one item: only items whose neighbours share the same value may match.
    let falsePositives = 0;
    items.forEach((item, index) => {
      const other = items[(index + 1) % items.length]?.references[0] as string;
      const result = scorer.score({ item, response: wrap(other) }) as { correct: boolean };
      if (result.correct && other !== item.references[0]) falsePositives += 1;
    });
    expect(falsePositives).toBeLessThanOrEqual(15);
  });

  it('math500 tricky forms: \\dfrac, nested braces, \\text answers', async () => {
    const { items } = await loadBenchmark({ path: benchmarkFile('math500') });
    const scorer = createMathScorer();
    const byReference = (reference: string) => {
      const item = items.find((candidate) => candidate.references[0] === reference);
      if (item === undefined) throw new Error(`no math500 item with answer ${reference}`);
      return item;
    };
    const dfrac = byReference('\\dfrac{17}{50}');
    expect(scorer.score({ item: dfrac, response: wrap('0.34') })).toMatchObject({ correct: true });
    expect(scorer.score({ item: dfrac, response: wrap('\\frac{17}{50}') })).toMatchObject({ correct: true });
    const nested = byReference('\\frac{\\sqrt{21}}{5}');
    expect(scorer.score({ item: nested, response: wrap('\\frac{\\sqrt{21}}{5}') })).toMatchObject({
      correct: true,
      extracted: '\\frac{\\sqrt{21}}{5}',
    });
    expect(scorer.score({ item: nested, response: wrap('\\frac{\\sqrt{20}}{5}') })).toMatchObject({
      correct: false,
    });
    const text = byReference('\\text{Evelyn}');
    expect(scorer.score({ item: text, response: wrap('\\text{Evelyn}') })).toMatchObject({
      correct: true,
      extracted: 'Evelyn',
    });
    const polar = byReference('\\left( 3, \\frac{\\pi}{2} \\right)');
    expect(scorer.score({ item: polar, response: wrap('(3, \\pi/2)') })).toMatchObject({ correct: true });
  });

  it('math500 large integers: exact, so the off-by-one answer is rejected', async () => {
    const { items } = await loadBenchmark({ path: benchmarkFile('math500') });
    const scorer = createMathScorer();
    const large = items.flatMap((item) => {
      const value = parseWrittenNumber(normalizeMathAnswer(item.references[0] as string));
      return value !== undefined && value.denominator === 1n && value.numerator >= 10_000n
        ? [{ item, value: value.numerator }]
        : [];
    });
    // 13535, 28800, 10,\!080, 11,\!111,\!111,\!100, 26000, 58,500, 10080, 27648, \$32,\!348.
    expect(large.length).toBeGreaterThanOrEqual(9);
    for (const { item, value } of large) {
      const score = (answer: string) =>
        (scorer.score({ item, response: wrap(answer) }) as { correct: boolean }).correct;
      expect(score(item.references[0] as string), item.references[0]).toBe(true);
      expect(score(String(value)), `${item.references[0]} as ${value}`).toBe(true);
      expect(score(String(value + 1n)), `${item.references[0]} + 1`).toBe(false);
      expect(score(String(value - 1n)), `${item.references[0]} - 1`).toBe(false);
    }
  });

  it('aime24/25: zero-padded and integer answers', async () => {
    const aime24 = await loadBenchmark({ path: benchmarkFile('aime24') });
    const aime25 = await loadBenchmark({ path: benchmarkFile('aime25') });
    const scorer = createDefaultScorer();
    const padded = aime24.items.find((item) => item.references[0] === '025');
    expect(padded).toBeDefined();
    expect(await scorer.score({ item: padded as never, response: wrap('25') })).toMatchObject({
      correct: true,
    });
    for (const item of aime25.items) {
      expect((await scorer.score({ item, response: wrap(item.references[0] as string) })).correct).toBe(true);
      expect(
        (await scorer.score({ item, response: wrap(String(Number(item.references[0]) + 1)) })).correct,
      ).toBe(false);
    }
  });

  it('gsm8k: numeric match on all 1319 answers, with $, commas and the last-number fallback', async () => {
    const { items } = await loadBenchmark({ path: benchmarkFile('gsm8k') });
    expect(items).toHaveLength(1319);
    const scorer = createNumericScorer();
    for (const item of items) {
      const reference = item.references[0] as string;
      const value = Number(reference);
      expect(
        scorer.score({ item, response: wrap(`\\$${value.toLocaleString('en-US')}`) }),
        reference,
      ).toMatchObject({
        correct: true,
      });
      expect(scorer.score({ item, response: wrap(String(value + 1)) })).toMatchObject({ correct: false });
    }
    const first = items[0];
    if (first === undefined) throw new Error('empty gsm8k');
    expect(scorer.score({ item: first, response: 'She makes 9 * 2 = $18 a day.' })).toMatchObject({
      correct: true,
      extraction: 'last-number',
    });
  });

  it('multi-hop QA: every alias is accepted, yes/no is strict, F1 gives partial credit', async () => {
    const scorer = createTextScorer();
    for (const name of ['hotpotqa', '2wiki', 'musique', 'bamboogle']) {
      const { items } = await loadBenchmark({ path: benchmarkFile(name) });
      expect(items.length).toBeGreaterThan(100);
      for (const item of items) {
        for (const alias of item.references) {
          expect(scorer.score({ item, response: wrap(alias) }), `${name} ${item.id} ${alias}`).toMatchObject({
            correct: true,
            score: 1,
          });
        }
      }
    }
    const { items: wiki } = await loadBenchmark({ path: benchmarkFile('2wiki') });
    const newYork = wiki.find((item) => item.references.includes('NYC'));
    expect(newYork).toBeDefined();
    expect(scorer.score({ item: newYork as never, response: wrap('\\text{The Big Apple}') })).toMatchObject({
      correct: true,
    });
    const { items: hotpot } = await loadBenchmark({ path: benchmarkFile('hotpotqa') });
    const yes = hotpot.find((item) => item.references[0] === 'yes');
    expect(yes).toBeDefined();
    expect(scorer.score({ item: yes as never, response: wrap('Yes.') })).toMatchObject({
      correct: true,
      score: 1,
    });
    expect(scorer.score({ item: yes as never, response: wrap('yes they are') })).toMatchObject({
      correct: false,
      score: 0,
    });
    const lowy = hotpot.find((item) => item.references[0] === 'Frank Lowy');
    const partial = scorer.score({ item: lowy as never, response: wrap('Lowy') }) as {
      correct: boolean;
      score: number;
    };
    expect(partial.correct).toBe(false);
    expect(partial.score).toBeCloseTo(2 / 3, 12);
  });
});

describe('extractAnswer', () => {
  it('follows the documented order of fallbacks', () => {
    expect(extractAnswer('<answer>a</answer> <answer>x \\boxed{\\frac{1}{\\sqrt{2}}} y</answer>')).toEqual({
      answer: '\\frac{1}{\\sqrt{2}}',
      method: 'answer-boxed',
    });
    expect(extractAnswer('<answer> Paris </answer>')).toEqual({ answer: 'Paris', method: 'answer-span' });
    expect(extractAnswer('so \\boxed{\\text{Paris}}.')).toEqual({ answer: 'Paris', method: 'boxed' });
    expect(extractAnswer('<answer>\\boxed{12} and cut')).toEqual({ answer: '12', method: 'answer-boxed' });
    expect(extractAnswer('it is 1,234 or 56.', { lastNumberFallback: true })).toEqual({
      answer: '56',
      method: 'last-number',
    });
    expect(extractAnswer('it is 1,234', { lastNumberFallback: true }).answer).toBe('1234');
    expect(extractAnswer('nothing here')).toEqual({ answer: undefined, method: 'none' });
    // \\text{} with nested braces is unwrapped whole (bare groups dropped, command arguments kept).
    expect(extractAnswer('<answer>\\boxed{\\text{New {York}}}</answer>').answer).toBe('New York');
    expect(extractAnswer('\\boxed{\\text{\\textbf{x^{2}} and {b}}}').answer).toBe('x^{2} and b');
    expect(extractAnswer('<answer>\\text{unclosed {</answer>').answer).toBe('\\text{unclosed {');
  });
});
