import { InvalidArgumentError, type ToolCallProtocol } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { callBudgetFactory } from './call-budget.js';

const base: ToolCallProtocol = {
  name: 'plain',
  stopStrings: [],
  parse: () => [],
  formatResults: () => '',
};

describe('callBudgetFactory', () => {
  it('is undefined for a protocol without createCallBudget', () => {
    expect(callBudgetFactory(base)).toBeUndefined();
  });

  it("calls the protocol's createCallBudget with the protocol as this, once per budget", () => {
    let created = 0;
    const protocol = {
      ...base,
      limit: 1,
      createCallBudget(this: { limit: number }) {
        created += 1;
        let used = 0;
        const limit = this.limit;
        return {
          admit: () => (used++ < limit ? undefined : { code: 'call-limit' as const, message: 'over' }),
        };
      },
    };
    const create = callBudgetFactory(protocol)!;
    const first = create();
    const second = create();
    const call = { kind: 'call' as const, toolName: 'python', input: 'x', raw: 'x' };
    expect(first.admit(call)).toBeUndefined();
    expect(first.admit(call)).toEqual({ code: 'call-limit', message: 'over' });
    expect(second.admit(call)).toBeUndefined();
    expect(created).toBe(2);
  });

  it('rejects a createCallBudget that is not a function, or a budget without admit, naming the field', () => {
    const notFunction = { ...base, createCallBudget: 3 } as unknown as ToolCallProtocol;
    expect(() => callBudgetFactory(notFunction)).toThrow(InvalidArgumentError);
    expect(() => callBudgetFactory(notFunction)).toThrow(
      /environment\.protocol\.createCallBudget.*got number/,
    );
    const noAdmit = { ...base, createCallBudget: () => ({}) } as unknown as ToolCallProtocol;
    const create = callBudgetFactory(noAdmit)!;
    expect(() => create()).toThrow(/protocol 'plain' returned a budget without an admit\(call\) method/);
  });
});
