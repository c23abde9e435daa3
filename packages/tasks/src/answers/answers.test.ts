import { describe, expect, it } from 'vitest';
import { extractFinalAnswer, lastAnswerSpan, lastBoxedContent, unwrapTextCommands } from './boxed.js';
import { bestOver, exactMatch, normalizeAnswer, tokenF1 } from './squad-normalize.js';

describe('SQuAD normalisation', () => {
  it('lower-cases, drops punctuation and articles, collapses whitespace', () => {
    expect(normalizeAnswer('  The Eiffel-Tower,  in   PARIS! ')).toBe('eiffeltower in paris');
    expect(normalizeAnswer('An apple a day')).toBe('apple day');
    expect(normalizeAnswer('theatre')).toBe('theatre');
  });

  it('computes token F1 like the SQuAD script', () => {
    expect(tokenF1('the cat sat', 'cat sat down')).toBeCloseTo(0.8, 12);
    expect(tokenF1('Paris', 'paris')).toBe(1);
    expect(tokenF1('x b b', 'b b c')).toBeCloseTo(2 / 3, 12);
    expect(tokenF1('a b b', 'b b c')).toBeCloseTo(0.8, 12); // 'a' is an article and is dropped
    expect(tokenF1('', 'x')).toBe(0);
    expect(tokenF1('London', 'Paris')).toBe(0);
  });

  it('applies the yes/no/noanswer rule', () => {
    expect(tokenF1('yes', 'yes')).toBe(1);
    expect(tokenF1('yes it is', 'yes')).toBe(0);
    expect(tokenF1('no', 'no way')).toBe(0);
  });

  it('matches against any alias', () => {
    expect(
      bestOver(['USA', 'United States'], (reference) => (exactMatch('the united states', reference) ? 1 : 0)),
    ).toBe(1);
  });
});

describe('answer extraction', () => {
  it('takes the last boxed content with nested braces', () => {
    expect(lastBoxedContent('first \\boxed{1} then \\boxed{\\frac{1}{2}} end')).toBe('\\frac{1}{2}');
    expect(lastBoxedContent('\\boxed{a{b{c}}d}')).toBe('a{b{c}}d');
    expect(lastBoxedContent('\\boxed 42 and more')).toBe('42');
    expect(lastBoxedContent('\\fbox{7}')).toBe('7');
    expect(lastBoxedContent('\\boxed{unclosed')).toBeUndefined();
    expect(lastBoxedContent('no box')).toBeUndefined();
  });

  it('unwraps \\text and finds the final answer inside the last <answer> span', () => {
    expect(unwrapTextCommands('\\text{\\textbf{Paris}} city')).toBe('Paris city');
    expect(lastAnswerSpan('<answer>a</answer> <answer>b</answer>')).toBe('b');
    expect(
      extractFinalAnswer('<think>x</think><answer>The answer is \\boxed{\\text{Quenlandia}} </answer>'),
    ).toBe('Quenlandia');
    expect(extractFinalAnswer('\\boxed{5} without answer tags')).toBeUndefined();
  });
});
