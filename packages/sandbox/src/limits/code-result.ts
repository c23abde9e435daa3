import { type ToolResult, toolFailure, toolSuccess } from '@arpo/core';
import { truncationMarker } from './output-cap.js';

/** How a sandboxed run ended, before it is turned into a `ToolResult`. */
export type CodeRunStatus =
  | 'ok'
  | 'error'
  | 'forbidden'
  | 'timeout'
  | 'aborted'
  | 'memory-limit'
  | 'output-limit'
  | 'unavailable';

export interface CodeRunOutcome {
  status: CodeRunStatus;
  stdout: string;
  stderr: string;
  /** The error text: a traceback's last lines, or why the run was stopped. */
  message: string;
  /** Caps that applied, named in truncation markers. */
  stdoutLimit: number;
  stderrLimit: number;
  durationMs: number;
}

/** Joins stdout and stderr the way a terminal shows them (stdout first). */
function joinStreams(stdout: string, stderr: string): string {
  if (stderr === '') return stdout;
  if (stdout === '') return stderr;
  return stdout.endsWith('\n') ? stdout + stderr : `${stdout}\n${stderr}`;
}

/**
 * Turns a run outcome into what the model sees. Successes show stdout (then stderr, such as warnings). Failures
 * carry a typed code; their message starts with whatever the code printed before it failed, so the model sees
 * the same thing a terminal would.
 */
export function codeRunResult(outcome: CodeRunOutcome): ToolResult {
  const metadata = { durationMs: Math.round(outcome.durationMs * 1000) / 1000 };
  const printed = joinStreams(outcome.stdout, outcome.stderr);
  const withPrinted = (text: string) => (printed === '' ? text : `${printed.replace(/\n?$/, '\n')}${text}`);
  let result: ToolResult;
  switch (outcome.status) {
    case 'ok':
      return toolSuccess(printed, metadata);
    case 'output-limit': {
      const limit = outcome.stdout.length >= outcome.stdoutLimit ? outcome.stdoutLimit : outcome.stderrLimit;
      const stream = outcome.stdout.length >= outcome.stdoutLimit ? 'output' : 'error output';
      result = toolFailure('output-limit', withPrinted(truncationMarker(stream, limit)));
      break;
    }
    case 'error':
      result = toolFailure('runtime-error', withPrinted(outcome.message));
      break;
    case 'forbidden':
      result = toolFailure('forbidden', withPrinted(outcome.message));
      break;
    case 'timeout':
    case 'memory-limit':
      result = toolFailure(outcome.status, withPrinted(outcome.message));
      break;
    case 'aborted':
      result = toolFailure('aborted', outcome.message);
      break;
    case 'unavailable':
      result = toolFailure('unavailable', outcome.message, true);
      break;
  }
  return { ...result, metadata };
}
