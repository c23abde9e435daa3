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
    .replace(/\\displaystyle/g, '');
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

/** Plain numbers, `a/b`, `\frac{a}{b}`, and mixed numbers such as `137\frac{1}{2}`; undefined otherwise. */
export function parseMathNumber(text: string): number | undefined {
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) return Number(text);
  const slash = /^([-+]?\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(text);
  if (slash !== null) return Number(slash[1]) / Number(slash[2]);
  const fraction = /^([-+]?)(\d+)?\\frac\{([-+]?\d+(?:\.\d+)?)\}\{(\d+(?:\.\d+)?)\}$/.exec(text);
  if (fraction !== null) {
    const sign = fraction[1] === '-' ? -1 : 1;
    const whole = fraction[2] === undefined ? 0 : Number(fraction[2]);
    return sign * (whole + Number(fraction[3]) / Number(fraction[4]));
  }
  return undefined;
}

function close(first: number, second: number): boolean {
  if (first === second) return true;
  if (!Number.isFinite(first) || !Number.isFinite(second)) return false;
  return Math.abs(first - second) <= 1e-4 * Math.max(Math.abs(first), Math.abs(second)) + 1e-9;
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

function complexClose(first: ComplexValue, second: ComplexValue): boolean {
  return close(first.re, second.re) && close(first.im, second.im);
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
      if (!complexClose(firstValue, secondValue)) return false;
    }
    return true;
  } catch {
    return undefined;
  }
}

function numbersEqual(prediction: Normalised, reference: Normalised): boolean | undefined {
  const predicted = parseMathNumber(prediction.text);
  const expected = parseMathNumber(reference.text);
  if (predicted === undefined || expected === undefined) return undefined;
  if (close(predicted, expected)) return true;
  // "7.69\%" vs "0.0769" and the other way round: accept the percent reading when either side wrote one.
  if (prediction.percent || reference.percent) {
    return close(predicted, expected / 100) || close(predicted, expected * 100);
  }
  return false;
}

function expandPlusMinus(text: string): string[] | undefined {
  const parts = splitTopLevel(text, '\\pm');
  if (parts.length !== 2) return undefined;
  return [`${parts[0]}+${parts[1]}`, `${parts[0]}-${parts[1]}`];
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
    if (predictedList.length !== referenceList.length) return false;
    const unused = [...referenceList];
    for (const part of predictedList) {
      const match = unused.findIndex((candidate) =>
        equalNormalised(element(normalise(part).text), element(normalise(candidate).text), depth + 1),
      );
      if (match < 0) return false;
      unused.splice(match, 1);
    }
    return true;
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
