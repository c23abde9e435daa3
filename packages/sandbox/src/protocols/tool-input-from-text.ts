import type { ToolSpec } from '@arpo/core';

const preferredFields = ['code', 'query', 'input', 'text'] as const;

function isStringProperty(schema: unknown): boolean {
  if (schema === null || typeof schema !== 'object') return true;
  const type = (schema as { type?: unknown }).type;
  return type === undefined || type === 'string' || (Array.isArray(type) && type.includes('string'));
}

/**
 * The input field a tag body goes into, read from the tool's input schema: the only required string property,
 * else the only property, else the first of `code`, `query`, `input`, `text` the schema has. `undefined` when
 * the schema is a string schema or names no such field (the body is then passed as a bare string).
 */
export function bodyFieldOf(spec: ToolSpec): string | undefined {
  const schema = spec.inputSchema;
  if (schema.type === 'string') return undefined;
  const properties =
    schema.properties !== null && typeof schema.properties === 'object'
      ? (schema.properties as Record<string, unknown>)
      : {};
  const names = Object.keys(properties);
  const required = Array.isArray(schema.required)
    ? schema.required.filter(
        (name): name is string => typeof name === 'string' && isStringProperty(properties[name]),
      )
    : [];
  if (required.length === 1) return required[0];
  if (names.length === 1) return names[0];
  return preferredFields.find((name) => names.includes(name));
}

/** Builds a tool input from the text a model wrote between a tool's tags. */
export function toolInputFromText(text: string, spec: ToolSpec, field?: string): unknown {
  const target = field ?? bodyFieldOf(spec);
  return target === undefined ? text : { [target]: text };
}
