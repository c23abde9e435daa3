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

/** Unwraps `\text{...}` (and `\textbf`, `\mathrm`) keeping the content. */
export function unwrapTextCommands(text: string): string {
  let previous: string;
  let current = text;
  do {
    previous = current;
    current = current.replace(/\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}/g, '$1');
  } while (current !== previous);
  return current;
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
