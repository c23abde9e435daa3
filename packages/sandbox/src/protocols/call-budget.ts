import { InvalidArgumentError, type ToolCallParse, type ToolErrorInfo } from '@arpo/core';

/** Per-trajectory call limits (the reference ARPO setup caps tool calls per rollout). */
export interface CallLimits {
  /** Most calls of each tool, by tool name. Tools not listed are limited only by `total`. */
  perTool?: Readonly<Record<string, number>>;
  /** Most calls of all tools together, malformed calls included. */
  total?: number;
}

/** Counts one trajectory's calls against `CallLimits`. Create one per trajectory. */
export interface CallBudget {
  /**
   * Records `call` and returns `undefined` when it is within the limits, or the `call-limit` error to feed back
   * instead of running it. A refused call is not counted. Malformed calls count toward `total` only.
   */
  admit(call: ToolCallParse): ToolErrorInfo | undefined;
  /** Calls admitted so far, all tools together. */
  readonly used: number;
  /** Calls of `toolName` admitted so far. */
  usedBy(toolName: string): number;
  /** Calls left for `toolName` (or in total without a name); `Infinity` when unlimited. */
  remaining(toolName?: string): number;
}

function checkLimit(value: number, argument: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError({ argument, message: `must be an integer ≥ 0, got ${value}` });
  }
}

/** A fresh budget for one trajectory. */
export function createCallBudget(limits: CallLimits = {}): CallBudget {
  if (limits.total !== undefined) checkLimit(limits.total, 'callLimits.total');
  for (const [name, limit] of Object.entries(limits.perTool ?? {}))
    checkLimit(limit, `callLimits.perTool.${name}`);
  const counts = new Map<string, number>();
  let used = 0;
  const remaining = (toolName?: string) => {
    const total = limits.total === undefined ? Number.POSITIVE_INFINITY : limits.total - used;
    const perToolLimit = toolName === undefined ? undefined : limits.perTool?.[toolName];
    const perTool =
      perToolLimit === undefined
        ? Number.POSITIVE_INFINITY
        : perToolLimit - (counts.get(toolName as string) ?? 0);
    return Math.max(0, Math.min(total, perTool));
  };
  return {
    admit(call) {
      if (limits.total !== undefined && used >= limits.total) {
        return {
          code: 'call-limit',
          message: `call limit reached: at most ${limits.total} tool calls per trajectory; answer with what you have`,
        };
      }
      if (call.kind === 'call') {
        const limit = limits.perTool?.[call.toolName];
        const count = counts.get(call.toolName) ?? 0;
        if (limit !== undefined && count >= limit) {
          return {
            code: 'call-limit',
            message: `call limit reached: at most ${limit} ${call.toolName} calls per trajectory; answer with what you have`,
          };
        }
        counts.set(call.toolName, count + 1);
      }
      used += 1;
      return undefined;
    },
    get used() {
      return used;
    },
    usedBy: (toolName) => counts.get(toolName) ?? 0,
    remaining,
  };
}
