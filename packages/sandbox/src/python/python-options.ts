import { lazySchema } from '@arpo/core';
import { z } from 'zod';
import type { PyodidePoolOptions } from './pyodide-pool.js';

const count = (minimum: number) => z.number().int().min(minimum);

export const pyodidePoolOptionsSchema = lazySchema<PyodidePoolOptions>('Pyodide pool options', () =>
  z.strictObject({
    size: count(1).max(64).optional(),
    memoryLimitMb: count(64).max(4096).optional(),
    workerHeapLimitMb: count(32).optional(),
    stdoutLimit: count(1).optional(),
    stderrLimit: count(1).optional(),
    tracebackLines: count(1).optional(),
    interruptGraceMs: count(0).optional(),
    maxRecursionLimit: count(100).max(20_000).optional(),
    maxQueueLength: count(0).optional(),
    recycleAfterCalls: count(0).optional(),
    pyodidePath: z.string().min(1).optional(),
  }),
);

/** Options shared by the code tools: their name, description and per-call limits. */
export interface CodeToolOptions {
  /** The name the model calls the tool by. */
  name?: string;
  description?: string;
  /** Default wall-clock limit of a call, in ms (a call's `timeoutMs` overrides it). */
  timeoutMs?: number;
  /** Longest accepted code, in characters. Default 100 000. */
  maxCodeLength?: number;
}

export const codeToolOptionsShape = () => ({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  description: z.string().min(1).optional(),
  timeoutMs: z.number().positive().optional(),
  maxCodeLength: count(1).optional(),
});
