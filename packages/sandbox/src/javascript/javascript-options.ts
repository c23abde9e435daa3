import { lazySchema } from '@arpo/core';
import { z } from 'zod';
import type { QuickJsPoolOptions, QuickJsSandboxLimits } from './quickjs-pool.js';

const count = (minimum: number) => z.number().int().min(minimum);

/** The pool fields a caller sets under the tool's `pool` option. */
export const quickJsPoolShape = () => ({
  size: count(1).max(64).optional(),
  workerHeapLimitMb: count(16).optional(),
  interruptGraceMs: count(0).optional(),
  maxQueueLength: count(0).optional(),
  recycleAfterCalls: count(0).optional(),
});

/** The sandbox limits, which the tool takes at its top level. */
export const quickJsSandboxLimitsShape = () => ({
  memoryLimitMb: count(1).max(2048).optional(),
  // Past ~400 KiB QuickJS's recursion can overflow the thread's own stack before its own check fires.
  maxStackSizeKb: count(16).max(384).optional(),
  outputLimit: count(1).optional(),
});

export const quickJsPoolOptionsSchema = lazySchema<QuickJsPoolOptions>('QuickJS pool options', () =>
  z.strictObject(quickJsPoolShape()),
);

export const quickJsPoolConfigSchema = lazySchema<QuickJsPoolOptions & QuickJsSandboxLimits>(
  'QuickJS pool options',
  () => z.strictObject({ ...quickJsPoolShape(), ...quickJsSandboxLimitsShape() }),
);
