import { ArpoError } from './arpo-error.js';

const name = 'ArpoValidationError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** One problem found in a value: where it is (`path`) and what is wrong. */
export interface ValidationIssue {
  /** Property path inside the value, for example `['segments', 2, 'end']`. Empty for the value itself. */
  path: readonly (string | number)[];
  message: string;
}

export interface ValidationErrorOptions {
  /** What was being validated, for example `Trajectory` or `sampling options`. */
  subject: string;
  issues: readonly ValidationIssue[];
  /** Where the value came from, for example `runs/a/config.json` or `data.jsonl:17`. */
  source?: string;
  cause?: unknown;
}

/** Formats a path the way people write it: `segments[2].end`. */
export function formatPath(path: readonly (string | number)[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? part : `.${part}`;
  }
  return text === '' ? '(root)' : text;
}

/** A value crossing a public boundary (config, dataset line, HTTP body, contract object) is malformed. */
export class ValidationError extends ArpoError {
  private readonly [symbol] = true;

  readonly subject: string;
  readonly issues: readonly ValidationIssue[];
  readonly source: string | undefined;

  constructor(options: ValidationErrorOptions) {
    const where = options.source === undefined ? '' : ` in ${options.source}`;
    const details = options.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join('; ');
    super({
      name,
      code: 'validation-failed',
      message: `Invalid ${options.subject}${where}: ${details}`,
      cause: options.cause,
    });
    this.subject = options.subject;
    this.issues = options.issues;
    this.source = options.source;
  }

  /** The first offending field, as a formatted path. */
  get field(): string {
    const first = this.issues[0];
    return first === undefined ? '(root)' : formatPath(first.path);
  }

  static override isInstance(error: unknown): error is ValidationError {
    return ArpoError.hasMarker(error, marker);
  }
}
