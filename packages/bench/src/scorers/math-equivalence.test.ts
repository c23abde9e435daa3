import { describe, expect, it } from 'vitest';
import { latexToExpression } from './latex-to-expression.js';
import {
  mathEquivalent,
  normalizeMathAnswer,
  parseMathNumber,
  parseWrittenNumber,
} from './math-equivalence.js';

describe('normalizeMathAnswer', () => {
  it('removes presentation noise and canonicalises fractions', () => {
    expect(normalizeMathAnswer('$\\dfrac{17}{50}$')).toBe('\\frac{17}{50}');
    expect(normalizeMathAnswer('\\frac 59')).toBe('\\frac{5}{9}');
    expect(normalizeMathAnswer('\\tfrac12')).toBe('\\frac{1}{2}');
    expect(normalizeMathAnswer('\\left( 3, \\frac{\\pi}{2} \\right)')).toBe('(3,\\frac{\\pi}{2})');
    expect(normalizeMathAnswer('90^\\circ')).toBe('90');
    expect(normalizeMathAnswer('10\\text{ cm}')).toBe('10');
    expect(normalizeMathAnswer('18 dollars')).toBe('18');
    expect(normalizeMathAnswer('x = 5')).toBe('5');
    expect(normalizeMathAnswer('1,000,000')).toBe('1000000');
    expect(normalizeMathAnswer('.35625')).toBe('0.35625');
    expect(normalizeMathAnswer('\\text{Evelyn}')).toBe('Evelyn');
  });

  it('parses plain, fractional and mixed numbers', () => {
    expect(parseMathNumber('-3.5')).toBe(-3.5);
    expect(parseMathNumber('3/4')).toBe(0.75);
    expect(parseMathNumber('\\frac{3}{4}')).toBe(0.75);
    expect(parseMathNumber('137\\frac{1}{2}')).toBe(137.5);
    expect(parseMathNumber('x+1')).toBeUndefined();
  });

  it("reads written numbers as exact rationals, recording a decimal's digits", () => {
    expect(parseWrittenNumber('12345678901234567891')).toEqual({
      numerator: 12345678901234567891n,
      denominator: 1n,
    });
    expect(parseWrittenNumber('-3.50')).toEqual({ numerator: -350n, denominator: 100n, decimals: 2 });
    expect(parseWrittenNumber('137\\frac{1}{2}')).toEqual({ numerator: 275n, denominator: 2n });
    expect(parseWrittenNumber('1.5e3')).toEqual({ numerator: 1500n, denominator: 1n });
    expect(parseWrittenNumber('3/0')).toBeUndefined();
  });

  it('converts LaTeX to mathjs syntax', () => {
    expect(latexToExpression('\\frac{\\sqrt{21}}{5}')).toBe('(( sqrt(21))/(5))');
    expect(latexToExpression('\\sqrt[3]{8}')).toBe(' nthRoot((8),(3))');
    expect(latexToExpression('\\begin{pmatrix}1\\end{pmatrix}')).toBeUndefined();
  });
});

describe('mathEquivalent', () => {
  const equal: [string, string][] = [
    ['0.5', '\\frac{1}{2}'],
    ['\\dfrac{17}{50}', '0.34'],
    ['\\frac{\\sqrt{2}}{2}', '\\frac{\\sqrt2}{2}'],
    ['\\sqrt{21}/5', '\\frac{\\sqrt{21}}{5}'],
    ['2\\sqrt{2}', '\\sqrt{8}'],
    ['025', '25'],
    ['50\\%', '50'],
    ['7.69\\%', '0.0769'],
    ['1,000', '1000'],
    ['288\\pi', '288 \\pi'],
    ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3,\\frac{\\pi}{2})'],
    ['(3, 1.5708)', '\\left( 3, \\frac{\\pi}{2} \\right)'],
    ['(0,9) \\cup (9,36)', '(0, 9)\\cup(9, 36)'],
    ['3 \\pm 2\\sqrt{2}', '3+2\\sqrt{2}, 3-2\\sqrt{2}'],
    ['-x^4 + x^5 + x^3 - x^2 + x - 1', 'x^5 - x^4 + x^3 - x^2 + x - 1'],
    ['6-5i', '6 - 5i'],
    ['-5i+6', '6 - 5i'],
    ['\\text{Evelyn}', 'evelyn'],
    ['137 \\frac{1}{2}', '\\frac{275}{2}'],
    ['10 \\text{ inches}', '10'],
    ['k = -\\frac{1}{3}', '-\\frac13'],
    ['12345678901234567891', '12345678901234567891'],
    ['0.3333', '\\frac{1}{3}'],
    ['1.4142', '\\sqrt{2}'],
    ['2^{14}', '16384'],
    ['\\$18.00', '18'],
    ['$18.90', '\\$18.90'],
    ['\\$32,\\!348', '32348'],
    ['\\log_2 8', '3'],
    ['\\log_{3}(81)', '4'],
    ['\\{3, 1\\pm\\sqrt{5}\\}', '\\{1-\\sqrt5, 3, 1+\\sqrt5\\}'],
    ['\\{1, 2\\}', '2, 1'],
  ];
  it.each(equal)('%s ≡ %s', (prediction, reference) => {
    expect(mathEquivalent(prediction, reference)).toBe(true);
  });

  const different: [string, string][] = [
    ['0.5', '\\frac{1}{3}'],
    ['(3, 1)', '[3, 1]'],
    ['(1, 2)', '(2, 1)'],
    ['x^2', 'x^3'],
    ['p + q', 'p - q'],
    ['6+5i', '6 - 5i'],
    ['', '0'],
    ['Evelyn', 'Bob'],
    ['2\\sqrt{2}', '\\sqrt{2}'],
    // Exact numbers are compared exactly: no relative tolerance between integers or fractions.
    ['10081', '10080'],
    ['100001', '100000'],
    ['12345678901234567890', '12345678901234567891'],
    ['\\frac{10001}{10000}', '1'],
    ['2^{14}', '16385'],
    // A decimal counts only to its last digit (and 1e-4 relative).
    ['10080.5', '10080'],
    ['0.33', '\\frac{1}{3}'],
    ['1.41', '\\sqrt{2}'],
    ['\\$18.01', '18'],
    ['\\log_2 8', '4'],
    ['\\{1, 2\\}', '\\{1, 3\\}'],
    ['\\{1, 2\\}', '\\{1, 2, 3\\}'],
  ];
  it.each(different)('%s ≢ %s', (prediction, reference) => {
    expect(mathEquivalent(prediction, reference)).toBe(false);
  });
});
