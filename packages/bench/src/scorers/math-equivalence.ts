import { createRandom } from '@arpo/core';
import { all, create, type MathJsInstance, type MathNode } from 'mathjs';
import { latexToExpression } from './latex-to-expression.js';

let mathjs: MathJsInstance | undefined;
function math(): MathJsInstance {
  mathjs ??= create(all as NonNullable<typeof all>, {});
  return mathjs;
}

/** A normalised answer plus whether it carried a percent sign. */
interface Normalised {
  text: string;
  percent: boolean;
}

const unitWords =
  /^(.*?\d)\s*(?:(?:square|sq|cubic)\s+)?(?:cm|mm|km|m|meters?|metres?|inch(?:es)?|in|feet|foot|ft|yards?|miles?|mph|units?|dollars?|cents?|degrees?|hours?|hrs?|minutes?|mins?|seconds?|secs?|days?|weeks?|months?|years?|pounds?|lbs?|kg|grams?|g|liters?|litres?|ml|people|students|points?|ways?)\.?$/i;

function stripOuter(text: string): string {
  let value = text.trim();
  for (;;) {
    const before = value;
    if (value.startsWith('$') && value.endsWith('$') && value.length > 1) value = value.slice(1, -1).trim();
    if (value.startsWith('\\(') && value.endsWith('\\)')) value = value.slice(2, -2).trim();
    if (value.startsWith('\\[') && value.endsWith('\\]')) value = value.slice(2, -2).trim();
    if (value === before) return value;
  }
}

/**
 * Normalises a math answer for comparison (after the MATH dataset's `strip_string` and the Qwen math
 * evaluation): removes `$`, `\left`/`\right`, spacing commands, degrees, `\text{}` units after a number and plain
 * unit words, a leading `x =`, thousands separators, trailing periods and all whitespace; turns `\dfrac`/`\tfrac`
 * into `\frac`, `\frac12` into `\frac{1}{2}`, `\sqrt2` into `\sqrt{2}` and `.5` into `0.5`. The percent sign
 * is removed and reported separately.
 */
export function normalizeMathAnswer(answer: string): string {
  return normalise(answer).text;
}

function normalise(answer: string): Normalised {
  let text = stripOuter(answer.replaceAll('\n', ' '));
  text = text
    .replace(/\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])/g, '')
    .replace(/\\[,;:! ]/g, '')
    .replaceAll('~', '')
    .replace(/\\[dt]frac/g, '\\frac')
    .replace(/\^\s*\{?\s*\\circ\s*\}?/g, '')
    .replaceAll('°', '')
    .replace(/\\displaystyle/g, '')
    // Currency: `\$18.90` is 18.90 (a lone `$` too, as in the MATH `strip_string`).
    .replace(/\\?\$/g, '');
  let percent = false;
  if (/\\?%/.test(text)) {
    percent = true;
    text = text.replace(/\\?%/g, '');
  }
  // A \text{...} after a number is a unit; elsewhere \text{} just wraps words.
  text = text.replace(/^(.*?\d)\s*\\(?:text|mbox|mathrm)\{\s*[a-zA-Z][a-zA-Z .^0-9]*\}\s*$/, '$1');
  let previous: string;
  do {
    previous = text;
    text = text.replace(/\\(?:text|textbf|mathrm|mbox|mathbf)\{([^{}]*)\}/g, '$1');
  } while (text !== previous);
  const unit = unitWords.exec(text.trim());
  if (unit !== null) text = unit[1] as string;
  // `x = 5` or `k=3`: the answer is the right-hand side.
  const assignment = /^\s*[a-zA-Z](?:_\{?[a-zA-Z0-9]+\}?)?\s*=\s*([^=]+)$/.exec(text);
  if (assignment !== null) text = assignment[1] as string;
  text = text
    .replace(/\\frac\s*(\d)\s*(\d)/g, '\\frac{$1}{$2}')
    .replace(/\\frac\s*\{([^{}]*)\}\s*(\d)/g, '\\frac{$1}{$2}')
    .replace(/\\frac\s*(\d)\s*\{/g, '\\frac{$1}{')
    .replace(/\\sqrt\s*(\d)/g, '\\sqrt{$1}')
    .replace(/\s+/g, '');
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(text)) text = text.replaceAll(',', '');
  text = text.replace(/(^|[^\d])\.(\d)/g, '$10.$2').replace(/\.$/, '');
  if (/^-?\d+\.\d*?0+$/.test(text)) text = text.replace(/\.?0+$/, '');
  return { text, percent };
}

/**
 * An exact rational read from what was written: integers, fractions and mixed numbers are exact; a decimal is
 * exact too, but `decimals` records its number of fractional digits because a written decimal usually stands
 * for a rounded value.
 */
export interface WrittenNumber {
  numerator: bigint;
  /** Positive. */
  denominator: bigint;
  /** Fractional digits of a decimal (`3.14` → 2); undefined for integers, fractions and mixed numbers. */
  decimals?: number;
}

function decimalRational(text: string): WrittenNumber | undefined {
  const match = /^([-+]?)(\d*)(?:\.(\d*))?(?:e([-+]?\d+))?$/i.exec(text);
  if (match === null || (match[2] === '' && (match[3] ?? '') === '')) return undefined;
  const fraction = match[3] ?? '';
  const exponent = Number(match[4] ?? 0);
  if (Math.abs(exponent) > 400) return undefined;
  let numerator = BigInt(`${match[2] === '' ? '0' : match[2]}${fraction}`);
  if (match[1] === '-') numerator = -numerator;
  const shift = fraction.length - exponent;
  if (shift <= 0) return { numerator: numerator * 10n ** BigInt(-shift), denominator: 1n };
  return { numerator, denominator: 10n ** BigInt(shift), decimals: shift };
}

/**
 * Plain numbers (integers, decimals, `1.5e3`), `a/b`, `\frac{a}{b}` and mixed numbers (`137\frac{1}{2}`) as
 * exact rationals; undefined otherwise.
 */
export function parseWrittenNumber(text: string): WrittenNumber | undefined {
  const plain = decimalRational(text);
  if (plain !== undefined) return plain;
  const slash = /^([-+]?\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(text);
  const fraction = /^([-+]?)(\d+)?\\frac\{([-+]?\d+(?:\.\d+)?)\}\{(\d+(?:\.\d+)?)\}$/.exec(text);
  let sign = 1n;
  let whole: bigint | undefined;
  let top: WrittenNumber | undefined;
  let bottom: WrittenNumber | undefined;
  if (slash !== null) {
    top = decimalRational(slash[1] as string);
    bottom = decimalRational(slash[2] as string);
  } else if (fraction !== null) {
    sign = fraction[1] === '-' ? -1n : 1n;
    whole = fraction[2] === undefined ? undefined : BigInt(fraction[2]);
    top = decimalRational(fraction[3] as string);
    bottom = decimalRational(fraction[4] as string);
  }
  if (top === undefined || bottom === undefined || bottom.numerator === 0n) return undefined;
  // (top / bottom) as one fraction, plus the whole part of a mixed number.
  let numerator = top.numerator * bottom.denominator;
  const denominator = top.denominator * bottom.numerator;
  if (whole !== undefined) numerator = whole * denominator + numerator;
  return { numerator: sign * numerator, denominator };
}

function rationalToNumber(value: WrittenNumber): number {
  return Number(value.numerator) / Number(value.denominator);
}

/** Plain numbers, `a/b`, `\frac{a}{b}`, and mixed numbers such as `137\frac{1}{2}`; undefined otherwise. */
export function parseMathNumber(text: string): number | undefined {
  const value = parseWrittenNumber(text);
  return value === undefined ? undefined : rationalToNumber(value);
}

/**
 * Relative tolerance for a rounded decimal against an exact or irrational value, as in the Qwen2.5-Math
 * evaluation (`numeric_equal`: `isclose(rel_tol=1e-4)`). Never applied between two exact numbers: `10080` and
 * `10081` differ by less than 1e-4 relative but are different answers.
 */
const roundedTolerance = 1e-4;
/**
 * Floating-point noise of evaluating two exact expressions (`\frac{\sqrt2}{2}` vs `\sqrt{2}/2`, or a polynomial
 * at a random point): doubles carry ~1e-16, a few operations lose a few digits.
 */
const evaluationTolerance = 1e-11;

/** How close two values must be: relative to the larger magnitude, capped by `absolute`. */
interface Tolerance {
  relative: number;
  absolute?: number;
}

function within(first: number, second: number, tolerance: Tolerance): boolean {
  if (first === second) return true;
  if (!Number.isFinite(first) || !Number.isFinite(second)) return false;
  const scale = Math.max(Math.abs(first), Math.abs(second));
  const allowed = Math.min(tolerance.relative * scale, tolerance.absolute ?? Number.POSITIVE_INFINITY);
  // The 1e-12 floor absorbs evaluation noise around zero (sin(pi) is 1.2e-16, not 0).
  return Math.abs(first - second) <= allowed + 1e-12;
}

/** Half a unit of the last digit of the coarser decimal among `texts`; undefined when none is a decimal. */
function roundingOf(texts: readonly string[]): number | undefined {
  const digits = texts
    .map((text) => parseWrittenNumber(text)?.decimals)
    .filter((value): value is number => value !== undefined);
  return digits.length === 0 ? undefined : 0.5 * 10 ** -Math.min(...digits);
}

/**
 * Two written numbers are equal when they are the same rational, or, when one side is a decimal, when they
 * agree within the rounding of the coarser decimal (half a unit of its last digit) and within 1e-4 relative:
 * `0.3333` ≡ `\frac13` and `1.5708` ≡ `1.57079`, but `0.33` ≢ `\frac13`, `10080.5` ≢ `10080`.
 */
function writtenNumbersEqual(first: WrittenNumber, second: WrittenNumber): boolean {
  if (first.numerator * second.denominator === second.numerator * first.denominator) return true;
  const digits = [first.decimals, second.decimals].filter((value) => value !== undefined);
  if (digits.length === 0) return false;
  return within(rationalToNumber(first), rationalToNumber(second), {
    relative: roundedTolerance,
    absolute: 0.5 * 10 ** -Math.min(...digits),
  });
}

/** `value × 10^power`, exactly; a decimal's digits shift with it (`0.0769 × 100` has 2 fractional digits). */
function scaleWritten(value: WrittenNumber, power: number): WrittenNumber {
  const factor = 10n ** BigInt(Math.abs(power));
  const scaled: WrittenNumber =
    power >= 0
      ? { numerator: value.numerator * factor, denominator: value.denominator }
      : { numerator: value.numerator, denominator: value.denominator * factor };
  if (value.decimals !== undefined) scaled.decimals = Math.max(0, value.decimals - power);
  return scaled;
}

/** Splits on commas that are not inside brackets or braces. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const character = text[index] as string;
    if ('([{'.includes(character)) depth += 1;
    else if (')]}'.includes(character)) depth -= 1;
    else if (depth === 0 && text.startsWith(separator, index)) {
      parts.push(text.slice(start, index));
      start = index + separator.length;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

interface ComplexValue {
  re: number;
  im: number;
}

function toComplex(value: unknown): ComplexValue | undefined {
  if (typeof value === 'number') return { re: value, im: 0 };
  if (value !== null && typeof value === 'object' && 're' in value && 'im' in value) {
    const { re, im } = value as { re: unknown; im: unknown };
    if (typeof re === 'number' && typeof im === 'number') return { re, im };
  }
  return undefined;
}

function complexClose(first: ComplexValue, second: ComplexValue, tolerance: Tolerance): boolean {
  return within(first.re, second.re, tolerance) && within(first.im, second.im, tolerance);
}

/** Free symbols of a mathjs expression (constants like pi, e, i excluded). */
function freeSymbols(node: MathNode): Set<string> {
  const names = new Set<string>();
  const constants = new Set(['pi', 'e', 'i', 'Infinity']);
  node.traverse((child: MathNode, _path: string, parent: MathNode | null) => {
    if (child.type !== 'SymbolNode') return;
    const name = (child as unknown as { name: string }).name;
    const isFunctionName =
      parent?.type === 'FunctionNode' && (parent as unknown as { fn: unknown }).fn === child;
    if (!isFunctionName && !constants.has(name)) names.add(name);
  });
  return names;
}

/**
 * Exact expressions only differ by evaluation noise. A side written as a decimal (`1.5708` for `\frac{\pi}{2}`)
 * was rounded: within 1e-4 relative and, for a plain decimal, within half a unit of its last digit.
 */
function symbolicTolerance(first: string, second: string): Tolerance {
  const rounding = roundingOf([first, second]);
  if (rounding !== undefined) return { relative: roundedTolerance, absolute: rounding };
  if (/\d\.\d/.test(first) || /\d\.\d/.test(second)) return { relative: roundedTolerance };
  return { relative: evaluationTolerance };
}

/**
 * Symbolic comparison with mathjs: both sides parsed from LaTeX; without free variables they are evaluated and
 * compared (complex numbers too); with variables, both are evaluated at 6 seeded random points.
 */
function symbolicEqual(first: string, second: string): boolean | undefined {
  const firstExpression = latexToExpression(first);
  const secondExpression = latexToExpression(second);
  if (firstExpression === undefined || secondExpression === undefined) return undefined;
  try {
    const instance = math();
    const firstNode = instance.parse(firstExpression);
    const secondNode = instance.parse(secondExpression);
    const symbols = freeSymbols(firstNode);
    const otherSymbols = freeSymbols(secondNode);
    if (symbols.size !== otherSymbols.size || [...symbols].some((name) => !otherSymbols.has(name)))
      return false;
    const tolerance = symbolicTolerance(first, second);
    const firstCode = firstNode.compile();
    const secondCode = secondNode.compile();
    const random = createRandom({ seed: 17 });
    const points = symbols.size === 0 ? 1 : 6;
    for (let point = 0; point < points; point++) {
      const scope: Record<string, number> = {};
      for (const name of symbols) scope[name] = 0.5 + random.next() * 2.5;
      const firstValue = toComplex(firstCode.evaluate({ ...scope }));
      const secondValue = toComplex(secondCode.evaluate({ ...scope }));
      if (firstValue === undefined || secondValue === undefined) return undefined;
      if (!complexClose(firstValue, secondValue, tolerance)) return false;
    }
    return true;
  } catch {
    return undefined;
  }
}

function numbersEqual(prediction: Normalised, reference: Normalised): boolean | undefined {
  const predicted = parseWrittenNumber(prediction.text);
  const expected = parseWrittenNumber(reference.text);
  if (predicted === undefined || expected === undefined) return undefined;
  if (writtenNumbersEqual(predicted, expected)) return true;
  // "7.69\%" vs "0.0769" and the other way round: accept the percent reading when either side wrote one.
  if (prediction.percent || reference.percent) {
    return (
      writtenNumbersEqual(predicted, scaleWritten(expected, -2)) ||
      writtenNumbersEqual(predicted, scaleWritten(expected, 2))
    );
  }
  return false;
}

function expandPlusMinus(text: string): string[] | undefined {
  const parts = splitTopLevel(text, '\\pm');
  if (parts.length !== 2) return undefined;
  return [`${parts[0]}+${parts[1]}`, `${parts[0]}-${parts[1]}`];
}

/** The elements of a set `\{a,b\}` (a `\pm` element expanded), or undefined when `text` is not one. */
function setElements(text: string): string[] | undefined {
  if (!text.startsWith('\\{') || !text.endsWith('\\}')) return undefined;
  const inner = text.slice(2, -2);
  if (inner.includes('\\{') || inner.includes('\\}')) return undefined;
  return splitTopLevel(inner, ',').flatMap((part) => expandPlusMinus(part) ?? [part]);
}

/** An unbracketed list `a,b` (or `a \pm b`) with more than one element, else undefined. */
function listElements(text: string): string[] | undefined {
  const parts = expandPlusMinus(text) ?? splitTopLevel(text, ',');
  return parts.length > 1 ? parts : undefined;
}

/** The same values in any order (a one-to-one matching). */
function sameElements(predicted: readonly string[], expected: readonly string[], depth: number): boolean {
  if (predicted.length !== expected.length) return false;
  const unused = [...expected];
  for (const part of predicted) {
    const match = unused.findIndex((candidate) =>
      equalNormalised(normalise(part), normalise(candidate), depth + 1),
    );
    if (match < 0) return false;
    unused.splice(match, 1);
  }
  return true;
}

function equalNormalised(prediction: Normalised, reference: Normalised, depth: number): boolean {
  if (prediction.text === reference.text) return true;
  if (prediction.text.toLowerCase() === reference.text.toLowerCase() && !/\d/.test(reference.text))
    return true;
  const numeric = numbersEqual(prediction, reference);
  if (numeric !== undefined) return numeric;
  if (depth > 3) return false;
  const element = (text: string): Normalised => ({ text, percent: false });
  // Tuples and intervals: same brackets, element-wise.
  const bracketed = /^([([])(.*)([)\]])$/;
  const predictedGroup = bracketed.exec(prediction.text);
  const referenceGroup = bracketed.exec(reference.text);
  if (predictedGroup !== null && referenceGroup !== null) {
    const predictedParts = splitTopLevel(predictedGroup[2] as string, ',');
    const referenceParts = splitTopLevel(referenceGroup[2] as string, ',');
    if (predictedParts.length > 1 || referenceParts.length > 1) {
      if (predictedGroup[1] !== referenceGroup[1] || predictedGroup[3] !== referenceGroup[3]) return false;
      return (
        predictedParts.length === referenceParts.length &&
        predictedParts.every((part, index) =>
          equalNormalised(element(part), element(referenceParts[index] as string), depth + 1),
        )
      );
    }
  }
  // Sets `\{a, b\}`: the same elements in any order, against another set or an unbracketed list.
  const predictedSet = setElements(prediction.text);
  const referenceSet = setElements(reference.text);
  if (predictedSet !== undefined || referenceSet !== undefined) {
    const predictedElements = predictedSet ?? listElements(prediction.text);
    const referenceElements = referenceSet ?? listElements(reference.text);
    if (predictedElements === undefined || referenceElements === undefined) return false;
    return sameElements(predictedElements, referenceElements, depth);
  }
  // Unions of intervals, piece by piece.
  const predictedUnion = splitTopLevel(prediction.text, '\\cup');
  const referenceUnion = splitTopLevel(reference.text, '\\cup');
  if (predictedUnion.length > 1 || referenceUnion.length > 1) {
    return (
      predictedUnion.length === referenceUnion.length &&
      predictedUnion.every((part, index) =>
        equalNormalised(element(part), element(referenceUnion[index] as string), depth + 1),
      )
    );
  }
  // `a \pm b` and unbracketed lists (roots): the same values in any order.
  const predictedList = expandPlusMinus(prediction.text) ?? splitTopLevel(prediction.text, ',');
  const referenceList = expandPlusMinus(reference.text) ?? splitTopLevel(reference.text, ',');
  if (predictedList.length > 1 || referenceList.length > 1) {
    return sameElements(predictedList, referenceList, depth);
  }
  // Equations: compare both sides.
  const predictedSides = prediction.text.split('=');
  const referenceSides = reference.text.split('=');
  if (predictedSides.length === 2 && referenceSides.length === 2) {
    return predictedSides.every((side, index) =>
      equalNormalised(element(side), element(referenceSides[index] as string), depth + 1),
    );
  }
  return symbolicEqual(prediction.text, reference.text) ?? false;
}

/**
 * Whether a predicted math answer equals a reference: normalised string equality, then numbers (integers,
 * decimals, fractions, mixed numbers, percent; relative tolerance 1e-4), tuples and intervals element-wise,
 * unions, `\pm` and unordered lists, equations side by side, and finally symbolic equality through mathjs
 * (`\frac`, `\sqrt`, powers, `\pi`, complex numbers; expressions with variables are compared at seeded random
 * points). Anything mathjs cannot parse falls back to the normalised string comparison.
 */
export function mathEquivalent(prediction: string, reference: string): boolean {
  if (prediction.trim() === '') return false;
  return equalNormalised(normalise(prediction), normalise(reference), 0);
}
