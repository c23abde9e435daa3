import { z } from 'zod';
import { lazySchema } from '../schema/lazy-schema.js';

/** Why a tool call failed. Stable codes: rewards, metrics and tests switch on them. */
export type ToolErrorCode =
  /** The wall-clock limit was hit; the runaway work was stopped. */
  | 'timeout'
  /** The memory cap was hit. */
  | 'memory-limit'
  /** Output exceeded its cap (the kept part may still be returned in `message`). */
  | 'output-limit'
  /** The code or request ran and failed (exception, non-zero exit, HTTP 4xx from a service). */
  | 'runtime-error'
  /** The input does not match the tool's input schema. */
  | 'invalid-input'
  /** The model named a tool that does not exist. */
  | 'unknown-tool'
  /** The model's call could not be parsed (unclosed tag, invalid JSON, empty body). */
  | 'malformed-call'
  /** The per-trajectory call limit was exceeded. */
  | 'call-limit'
  /** The tool's backend is not reachable right now (service down, worker crashed). */
  | 'unavailable'
  /** The caller cancelled. */
  | 'aborted'
  /** A sandbox policy blocked the action (network, filesystem, process spawning). */
  | 'forbidden'
  /** A bug in the tool itself. */
  | 'internal';

export const toolErrorCodes = [
  'timeout',
  'memory-limit',
  'output-limit',
  'runtime-error',
  'invalid-input',
  'unknown-tool',
  'malformed-call',
  'call-limit',
  'unavailable',
  'aborted',
  'forbidden',
  'internal',
] as const satisfies readonly ToolErrorCode[];

/** A tool failure as data: it is fed back to the model as text, never thrown through a rollout. */
export interface ToolErrorInfo {
  code: ToolErrorCode;
  message: string;
  /** Whether the same call may succeed if retried (a crashed worker, a 503). */
  retryable?: boolean;
}

export const toolErrorInfoSchema = lazySchema<ToolErrorInfo>('tool error', () =>
  z.object({ code: z.enum(toolErrorCodes), message: z.string(), retryable: z.boolean().optional() }),
);

/** What `Tool.execute` resolves to: the text to show the model, or a typed error. */
export type ToolResult =
  | { ok: true; output: string; metadata?: Record<string, unknown> }
  | { ok: false; error: ToolErrorInfo; metadata?: Record<string, unknown> };

export interface ToolExecuteOptions {
  /** Cancels the call; the tool must stop its work and resolve with an `aborted` error. */
  signal?: AbortSignal;
  /** Wall-clock limit for this call; overrides the tool's default. */
  timeoutMs?: number;
}

/** A JSON Schema object (draft 2020-12 subset) describing a tool's input, as MCP and function calling use. */
export type JsonSchema = Record<string, unknown>;

/**
 * A capability the model can call. `execute` never rejects for problems caused by the input: those resolve to
 * `{ ok: false, error }`. A rejection means a bug; agent loops turn it into an `internal` error.
 */
export interface Tool<Input = unknown> {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  execute(input: Input, options?: ToolExecuteOptions): Promise<ToolResult>;
  /** Releases workers, processes and connections. Idempotent. */
  close?(): Promise<void>;
}

export function toolSuccess(output: string, metadata?: Record<string, unknown>): ToolResult {
  return metadata === undefined ? { ok: true, output } : { ok: true, output, metadata };
}

export function toolFailure(code: ToolErrorCode, message: string, retryable?: boolean): ToolResult {
  return { ok: false, error: retryable === undefined ? { code, message } : { code, message, retryable } };
}

/** A tool name as the model writes it: letters, digits, `_`, `-`, `.`; 1-64 characters (MCP and OpenAI rules). */
export const toolNamePattern = /^[A-Za-z0-9_.-]{1,64}$/;
