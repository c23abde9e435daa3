import { type ToolResult, toolFailure } from '@arpo/core';

/** The JSON schema of a code tool's input. Tag protocols pass the body as a bare string, which is accepted too. */
export const codeInputSchema = {
  type: 'object',
  properties: { code: { type: 'string', description: 'The source code to run.' } },
  required: ['code'],
  additionalProperties: false,
} as const;

/** What `readCodeInput` found: the code to run, or the tool error to return. */
export type CodeInput = { ok: true; code: string } | { ok: false; result: ToolResult };

/**
 * Reads the code out of a tool input: a bare string, or `{ code: string }`. Anything else, empty code and code
 * longer than `maxCodeLength` become `invalid-input` tool errors naming what is wrong.
 */
export function readCodeInput(
  input: unknown,
  options: { toolName: string; maxCodeLength: number },
): CodeInput {
  let code: unknown = input;
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    if (!('code' in input)) {
      return invalid(
        `${options.toolName}: input must be a string or an object { code: string }; 'code' is missing`,
      );
    }
    code = (input as { code: unknown }).code;
  }
  if (typeof code !== 'string') {
    const kind = code === null ? 'null' : Array.isArray(code) ? 'array' : typeof code;
    return invalid(`${options.toolName}: 'code' must be a string, got ${kind}`);
  }
  if (code.trim() === '') return invalid(`${options.toolName}: 'code' is empty`);
  if (code.length > options.maxCodeLength) {
    return invalid(
      `${options.toolName}: 'code' has ${code.length} characters, more than the limit of ${options.maxCodeLength}`,
    );
  }
  return { ok: true, code };
}

function invalid(message: string): CodeInput {
  return { ok: false, result: toolFailure('invalid-input', message) };
}
