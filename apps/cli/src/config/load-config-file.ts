import { readFile } from 'node:fs/promises';
import { type LazySchema, ValidationError, type ValidationIssue } from '@arpo/core';
import {
  findNodeAtLocation,
  getNodeValue,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < offset && index < text.length; index++) {
    if (text.charCodeAt(index) === 10) {
      line += 1;
      lineStart = index + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The deepest node on `path` that exists: a missing field is reported at its parent object. */
function nearestNode(tree: Node, path: readonly (string | number)[]): Node {
  for (let length = path.length; length >= 0; length--) {
    const node = findNodeAtLocation(tree, path.slice(0, length) as (string | number)[]);
    if (node !== undefined) return node.parent?.type === 'property' ? node.parent : node;
  }
  return tree;
}

/**
 * Reads a JSON (comments and trailing commas allowed) config file and validates it. Every problem names the
 * file, the line and the field: `Invalid config in runs/a.json:7: rollout.alpha (line 7): ...`.
 */
export async function loadConfigFile<T>(path: string, schema: LazySchema<T>): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ValidationError({
      subject: schema.subject,
      source: path,
      issues: [
        {
          path: [],
          message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        },
      ],
      cause: error,
    });
  }
  return parseConfigText({ text, source: path, schema });
}

/** Like `loadConfigFile` for text already in memory; `source` names it in errors. */
export function parseConfigText<T>(options: { text: string; source: string; schema: LazySchema<T> }): T {
  const { text, source, schema } = options;
  const syntaxErrors: ParseError[] = [];
  const tree = parseTree(text, syntaxErrors, { allowTrailingComma: true, disallowComments: false });
  if (syntaxErrors.length > 0 || tree === undefined) {
    const first = syntaxErrors[0];
    const where = lineAndColumn(text, first?.offset ?? 0);
    throw new ValidationError({
      subject: schema.subject,
      source: `${source}:${where.line}`,
      issues: syntaxErrors.map((error) => {
        const at = lineAndColumn(text, error.offset);
        return {
          path: [],
          message: `JSON syntax error at line ${at.line} column ${at.column}: ${printParseErrorCode(error.error)}`,
        };
      }),
    });
  }
  const result = schema.schema.safeParse(getNodeValue(tree));
  if (result.success) return result.data;
  const issues: ValidationIssue[] = result.error.issues.map((issue) => {
    const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
    const line = lineAndColumn(text, nearestNode(tree, path).offset).line;
    return { path, message: `${issue.message} (line ${line})` };
  });
  const firstLine = /\(line (\d+)\)$/.exec(issues[0]?.message ?? '')?.[1] ?? '1';
  throw new ValidationError({
    subject: schema.subject,
    source: `${source}:${firstLine}`,
    issues,
    cause: result.error,
  });
}

/**
 * The line of field `path` in a JSON (with comments) config file, or undefined when the file does not set it;
 * for errors found only after merging files and flags.
 */
export async function configFieldLine(
  path: string,
  field: readonly (string | number)[],
): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const tree = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  if (tree === undefined) return undefined;
  const node = findNodeAtLocation(tree, field as (string | number)[]);
  if (node === undefined) return undefined;
  return lineAndColumn(text, (node.parent?.type === 'property' ? node.parent : node).offset).line;
}
