import {
  InvalidArgumentError,
  type ToolCallParse,
  type ToolCallProtocol,
  type ToolErrorInfo,
} from '@arpo/core';

/**
 * One trajectory's call budget as a protocol may offer it (the `@arpo/sandbox` protocols do, from their
 * `callLimits`: per-tool and total limits). `admit` records a call and returns `undefined`, or the error that
 * refuses it.
 */
export interface TrajectoryCallBudget {
  admit(call: ToolCallParse): ToolErrorInfo | undefined;
}

/**
 * The protocol's per-trajectory budget factory, if it has one (`protocol.createCallBudget()`); `undefined`
 * otherwise. Structural, so the agent loop works with any protocol and needs no dependency on the sandbox.
 */
export function callBudgetFactory(protocol: ToolCallProtocol): (() => TrajectoryCallBudget) | undefined {
  const create = (protocol as { createCallBudget?: unknown }).createCallBudget;
  if (create === undefined) return undefined;
  if (typeof create !== 'function') {
    throw new InvalidArgumentError({
      argument: 'environment.protocol.createCallBudget',
      message: `must be a function when present, got ${typeof create}`,
    });
  }
  return () => {
    const budget = create.call(protocol) as Partial<TrajectoryCallBudget> | undefined;
    if (typeof budget?.admit !== 'function') {
      throw new InvalidArgumentError({
        argument: 'environment.protocol.createCallBudget',
        message: `protocol '${protocol.name}' returned a budget without an admit(call) method`,
      });
    }
    return budget as TrajectoryCallBudget;
  };
}
