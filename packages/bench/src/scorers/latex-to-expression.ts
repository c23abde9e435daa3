/**
 * Converts a normalised LaTeX math answer into mathjs expression syntax, or undefined when it uses something
 * the conversion does not know (matrices, sets, ...). Handles `\frac`, `\sqrt`, `\sqrt[n]`, `^{}`, `\pi`,
 * `\cdot`, `\times`, `\div`, `\infty`, trigonometric functions, `\ln` and `\log` (with a base `\log_b`; without
 * one, natural).
 */
export function latexToExpression(latex: string): string | undefined {
  let text = latex;
  // Commands with brace arguments first, innermost-safe through recursion on the argument text.
  const converted = convertCommands(text);
  if (converted === undefined) return undefined;
  text = converted
    .replaceAll('\\cdot', '*')
    .replaceAll('\\times', '*')
    .replaceAll('\\div', '/')
    .replaceAll('\\pi', ' pi ')
    .replaceAll('\\infty', ' Infinity ')
    .replace(/\\(sin|cos|tan|sec|csc|cot|arcsin|arccos|arctan|sinh|cosh|tanh|exp)\b/g, ' $1 ')
    .replace(/\\ln\b/g, ' log ');
  if (text.includes('\\')) return undefined;
  text = text.replaceAll('{', '(').replaceAll('}', ')').replaceAll('[', '(').replaceAll(']', ')');
  return text.trim() === '' ? undefined : text;
}

/** Index just past the brace group that starts at `open` (which must be `{`), or -1 when it never closes. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let index = open; index < text.length; index++) {
    if (text[index] === '{') depth += 1;
    else if (text[index] === '}') {
      depth -= 1;
      if (depth === 0) return index + 1;
    }
  }
  return -1;
}

/** A `{...}` argument or a single character/digit argument (`\frac12`) at `start`. */
function readArgument(text: string, start: number): { value: string; end: number } | undefined {
  let index = start;
  while (text[index] === ' ') index++;
  if (index >= text.length) return undefined;
  if (text[index] === '{') {
    const end = closingBrace(text, index);
    if (end < 0) return undefined;
    return { value: text.slice(index + 1, end - 1), end };
  }
  if (text[index] === '\\') {
    const match = /^\\[a-zA-Z]+/.exec(text.slice(index));
    if (match === null) return undefined;
    return { value: match[0], end: index + match[0].length };
  }
  return { value: text[index] as string, end: index + 1 };
}

function convertCommands(text: string): string | undefined {
  let output = '';
  let index = 0;
  while (index < text.length) {
    if (text.startsWith('\\frac', index)) {
      const numerator = readArgument(text, index + 5);
      const denominator = numerator && readArgument(text, numerator.end);
      if (numerator === undefined || denominator === undefined) return undefined;
      const top = convertCommands(numerator.value);
      const bottom = convertCommands(denominator.value);
      if (top === undefined || bottom === undefined) return undefined;
      output += `((${top})/(${bottom}))`;
      index = denominator.end;
      continue;
    }
    if (text.startsWith('\\sqrt', index)) {
      let cursor = index + 5;
      let degree: string | undefined;
      if (text[cursor] === '[') {
        const close = text.indexOf(']', cursor);
        if (close < 0) return undefined;
        degree = convertCommands(text.slice(cursor + 1, close));
        if (degree === undefined) return undefined;
        cursor = close + 1;
      }
      const radicand = readArgument(text, cursor);
      if (radicand === undefined) return undefined;
      const inner = convertCommands(radicand.value);
      if (inner === undefined) return undefined;
      output += degree === undefined ? ` sqrt(${inner})` : ` nthRoot((${inner}),(${degree}))`;
      index = radicand.end;
      continue;
    }
    if (/^\\(?:log|ln)(?![a-zA-Z])/.test(text.slice(index))) {
      const logarithm = convertLogarithm(text, index);
      if (logarithm === undefined) return undefined;
      output += logarithm.value;
      index = logarithm.end;
      continue;
    }
    if (text[index] === '^') {
      const exponent = readArgument(text, index + 1);
      if (exponent === undefined) return undefined;
      const inner = convertCommands(exponent.value);
      if (inner === undefined) return undefined;
      output += `^(${inner})`;
      index = exponent.end;
      continue;
    }
    output += text[index];
    index += 1;
  }
  return output;
}

/**
 * `\log_b x`, `\log_{b}(x)`, `\log x` and `\ln x` at `start`. The argument is a brace or parenthesis group or a
 * run of letters, digits and dots (spacing is gone after normalisation, so `\log_28` is log base 2 of 8, as
 * LaTeX reads it). A `\log` without a base is the natural logarithm, as in SymPy's LaTeX parser.
 */
function convertLogarithm(text: string, start: number): { value: string; end: number } | undefined {
  const natural = text.startsWith('\\ln', start);
  let cursor = start + (natural ? 3 : 4);
  let base: string | undefined;
  if (!natural && text[cursor] === '_') {
    const subscript = readArgument(text, cursor + 1);
    if (subscript === undefined) return undefined;
    base = convertCommands(subscript.value);
    if (base === undefined) return undefined;
    cursor = subscript.end;
  }
  let argument: string | undefined;
  if (text[cursor] === '{') {
    const group = readArgument(text, cursor);
    if (group === undefined) return undefined;
    argument = group.value;
    cursor = group.end;
  } else if (text[cursor] === '(') {
    let depth = 0;
    let close = cursor;
    for (; close < text.length; close++) {
      if (text[close] === '(') depth += 1;
      else if (text[close] === ')' && --depth === 0) break;
    }
    if (close >= text.length) return undefined;
    argument = text.slice(cursor + 1, close);
    cursor = close + 1;
  } else {
    const run = /^[a-zA-Z0-9.]+/.exec(text.slice(cursor));
    if (run === null) return undefined;
    argument = run[0];
    cursor += run[0].length;
  }
  const inner = convertCommands(argument);
  if (inner === undefined) return undefined;
  return { value: base === undefined ? ` log(${inner})` : ` log((${inner}),(${base}))`, end: cursor };
}
