import type { z } from 'zod';
import { ValidationError } from '../errors/validation-error.js';

/**
 * A zod schema built on first use. Contracts export lazy schemas so that importing `@arpo/core` costs nothing
 * until a boundary actually validates something (the Vercel AI SDK does the same).
 */
export interface LazySchema<T> {
  /** The schema, created on first access and cached. */
  readonly schema: z.ZodType<T>;
  /** Human name of what the schema describes, used in error messages. */
  readonly subject: string;
}

export function lazySchema<T>(subject: string, create: () => z.ZodType<T>): LazySchema<T> {
  let cached: z.ZodType<T> | undefined;
  return {
    subject,
    get schema() {
      cached ??= create();
      return cached;
    },
  };
}

export interface ParseOptions {
  /** Where the value came from (file, file:line, URL), named in the error. */
  source?: string;
  /** Overrides the schema's subject in error messages. */
  subject?: string;
}

/** Validates `value` at a public boundary; throws a `ValidationError` naming every offending field. */
export function parse<T>(schema: LazySchema<T>, value: unknown, options: ParseOptions = {}): T {
  const result = schema.schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError({
    subject: options.subject ?? schema.subject,
    source: options.source,
    issues: result.error.issues.map((issue) => ({
      path: issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)),
      message: issue.message,
    })),
    cause: result.error,
  });
}

/** Like `parse`, but returns a result instead of throwing. */
export function safeParse<T>(
  schema: LazySchema<T>,
  value: unknown,
  options: ParseOptions = {},
): { success: true; value: T } | { success: false; error: ValidationError } {
  try {
    return { success: true, value: parse(schema, value, options) };
  } catch (error) {
    if (ValidationError.isInstance(error)) return { success: false, error };
    throw error;
  }
}
