const fencePattern = /^```[A-Za-z0-9_+-]*[ \t]*\n([\s\S]*?)\n[ \t]*```$/;

/**
 * Cleans the text between call tags: drops blank lines before and whitespace after it, unwraps one Markdown code
 * fence around all of it (```` ```python … ``` ````), and removes the indentation common to its lines (like
 * Python's `textwrap.dedent`). A one-line body is simply trimmed; indented code keeps its relative indentation
 * (plain trimming would leave only the first line unindented and break Python).
 */
export function tidyTagBody(body: string): string {
  let text = body.replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
  const fenced = fencePattern.exec(text.trimStart());
  if (fenced) text = (fenced[1] as string).replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
  const lines = text.split('\n');
  let common: string | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const indent = /^[ \t]*/.exec(line)?.[0] ?? '';
    if (common === undefined) common = indent;
    else {
      let length = 0;
      while (length < common.length && length < indent.length && common[length] === indent[length])
        length += 1;
      common = common.slice(0, length);
    }
    if (common === '') break;
  }
  if (common === undefined || common === '') return text;
  const width = common.length;
  return lines.map((line) => (line.trim() === '' ? line.trimEnd() : line.slice(width))).join('\n');
}
