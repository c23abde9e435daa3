/**
 * The content of the last `\boxed{...}` (or `\fbox{...}`) in `text`, with nested braces balanced; `undefined`
 * when there is none or its braces never close. `\boxed 5` (space form) is accepted as in the MATH scripts.
 */
export function lastBoxedContent(text: string): string | undefined {
  const boxed = text.lastIndexOf('\\boxed');
  const fbox = text.lastIndexOf('\\fbox');
  const start = Math.max(boxed, fbox);
  if (start < 0) return undefined;
  const command = boxed >= fbox ? '\\boxed' : '\\fbox';
  let index = start + command.length;
  if (text[index] === ' ') {
    const rest = text.slice(index + 1);
    const end = rest.search(/[\s$]/);
    return end < 0 ? rest : rest.slice(0, end);
  }
  if (text[index] !== '{') return undefined;
  let depth = 0;
  const open = index;
  for (; index < text.length; index++) {
    const character = text[index];
    if (character === '{') depth += 1;
    else if (character === '}') {
      depth -= 1;
      if (depth === 0) return text.slice(open + 1, index);
    }
  }
  return undefined;
}

/** The text inside the last `<answer>...</answer>` span, or undefined. */
export function lastAnswerSpan(text: string): string | undefined {
  const close = text.lastIndexOf('</answer>');
  if (close < 0) return undefined;
  const open = text.lastIndexOf('<answer>', close);
  if (open < 0) return undefined;
  return text.slice(open + '<answer>'.length, close);
}

const textCommand = /\\(?:text|textbf|mathrm|mbox)\{/g;

/** Index of the `}` closing the `{` at `open`, or -1 when it never closes. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let index = open; index < text.length; index++) {
    const character = text[index];
    if (character === '\\') index += 1;
    else if (character === '{') depth += 1;
    else if (character === '}') {
      depth -= 1;
      if (depth === 0) return index;
    }
  }
  return -1;
}

/**
 * Removes bare grouping braces (`New {York}` → `New York`), which only group in text mode; braces that are a
 * command's argument, a sub/superscript or escaped (`\frac{1}{2}`, `x^{2}`, `\{`) are kept.
 */
function dropBareGroups(text: string): string {
  let result = '';
  for (let index = 0; index < text.length; index++) {
    const character = text[index] as string;
    if (character === '\\') {
      // A command name and its braced arguments stay as written.
      const command = /^\\(?:[a-zA-Z]+|.)/.exec(text.slice(index))?.[0] ?? '\\';
      let end = index + command.length;
      while (/[a-zA-Z]/.test(command.slice(1)) && text[end] === '{') {
        const close = closingBrace(text, end);
        if (close < 0) break;
        end = close + 1;
      }
      result += text.slice(index, end);
      index = end - 1;
    } else if ((character === '^' || character === '_') && text[index + 1] === '{') {
      const close = closingBrace(text, index + 1);
      const end = close < 0 ? text.length : close + 1;
      result += text.slice(index, end);
      index = end - 1;
    } else if (character !== '{' && character !== '}') result += character;
    else if (character === '}' || closingBrace(text, index) >= 0) continue;
    else result += character;
  }
  return result;
}

/**
 * Unwraps `\text{...}` (and `\textbf`, `\mathrm`, `\mbox`) keeping the content, with nested braces balanced
 * (`\text{New {York}}` → `New York`); an unclosed command is left as written.
 */
export function unwrapTextCommands(text: string): string {
  let current = text;
  for (;;) {
    textCommand.lastIndex = 0;
    let match: RegExpExecArray | null = null;
    // The innermost-last command first, so nested text commands unwrap from the inside out.
    for (let found = textCommand.exec(current); found !== null; found = textCommand.exec(current)) {
      if (closingBrace(current, found.index + found[0].length - 1) >= 0) match = found;
    }
    if (match === null) return current;
    const open = match.index + match[0].length - 1;
    const close = closingBrace(current, open);
    current = `${current.slice(0, match.index)}${dropBareGroups(current.slice(open + 1, close))}${current.slice(close + 1)}`;
  }
}

/**
 * The final answer of an ARPO-format response: the last `\boxed{}` inside the last `<answer>` span, with
 * `\text{}` unwrapped and whitespace trimmed; undefined when either is missing.
 */
export function extractFinalAnswer(response: string): string | undefined {
  const span = lastAnswerSpan(response);
  if (span === undefined) return undefined;
  const boxed = lastBoxedContent(span);
  return boxed === undefined ? undefined : unwrapTextCommands(boxed).trim();
}
