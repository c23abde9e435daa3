export type FormatCheck = { valid: true } | { valid: false; reason: string };

function countOf(text: string, tag: string): number {
  return text.split(tag).length - 1;
}

/** Checks that every `<tool>…</tool>` is followed, in order, by `<result>…</result>`. */
function checkCallResultOrder(text: string, tool: string): FormatCheck {
  let position = 0;
  for (;;) {
    const open = text.indexOf(`<${tool}>`, position);
    if (open < 0) return { valid: true };
    const close = text.indexOf(`</${tool}>`, open);
    const resultOpen = close < 0 ? -1 : text.indexOf('<result>', close);
    const resultClose = resultOpen < 0 ? -1 : text.indexOf('</result>', resultOpen);
    if (close < 0 || resultOpen < 0 || resultClose < 0) {
      return {
        valid: false,
        reason: `<${tool}> at ${open} is not followed by </${tool}> <result> </result>`,
      };
    }
    const nextOpen = text.indexOf(`<${tool}>`, open + 1);
    if (nextOpen >= 0 && nextOpen < close) {
      return { valid: false, reason: `<${tool}> at ${open} is nested in another <${tool}>` };
    }
    position = resultClose;
  }
}

/**
 * The ARPO reward's format rules: `<think>` pairs present and balanced; exactly one `<answer>…</answer>`, in
 * order, holding a `\boxed{`; each `<search>` / `<python>` call closed and followed by its `<result>` span; and
 * `<result>` tags balanced.
 */
export function checkArpoFormat(
  response: string,
  tools: readonly string[] = ['search', 'python'],
): FormatCheck {
  const thinkOpen = countOf(response, '<think>');
  if (thinkOpen !== countOf(response, '</think>'))
    return { valid: false, reason: '<think> and </think> not paired' };
  if (thinkOpen === 0) return { valid: false, reason: 'no <think> span' };
  if (countOf(response, '<answer>') !== 1 || countOf(response, '</answer>') !== 1) {
    return { valid: false, reason: 'there must be exactly one <answer> and one </answer>' };
  }
  const answerOpen = response.indexOf('<answer>');
  const answerClose = response.indexOf('</answer>');
  if (answerOpen > answerClose) return { valid: false, reason: '</answer> comes before <answer>' };
  if (!response.slice(answerOpen, answerClose).includes('\\boxed{')) {
    return { valid: false, reason: 'the answer has no \\boxed{}' };
  }
  if (countOf(response, '<result>') !== countOf(response, '</result>')) {
    return { valid: false, reason: '<result> and </result> not paired' };
  }
  for (const tool of tools) {
    if (countOf(response, `<${tool}>`) !== countOf(response, `</${tool}>`)) {
      return { valid: false, reason: `<${tool}> and </${tool}> not paired` };
    }
    const order = checkCallResultOrder(response, tool);
    if (!order.valid) return order;
  }
  return { valid: true };
}
