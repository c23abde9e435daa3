import type { ToolErrorInfo } from '@arpo/core';

/** How protocols show a tool error to the model by default: `Error (timeout): python did not finish ...`. */
export function formatToolError(error: ToolErrorInfo): string {
  return `Error (${error.code}): ${error.message}`;
}
