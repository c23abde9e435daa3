import { toolFailure } from '@arpo/core';
import { describePolicyConformance } from './policy-conformance.js';
import { createScriptedPolicy } from './scripted-policy.js';
import { createScriptedTool } from './scripted-tool.js';
import { describeToolConformance } from './tool-conformance.js';

// The test doubles must themselves pass the suites other packages run.
describePolicyConformance('scripted policy', {
  create: () =>
    createScriptedPolicy({
      contextLength: 256,
      respond: (context) => ({
        text: `reply ${context.seed ?? 0} to ${context.contextText.length} chars`,
        endWithEos: false,
      }),
    }),
});

describeToolConformance('scripted tool', {
  create: () =>
    createScriptedTool({
      name: 'echo',
      latencyMs: 5,
      respond: (input) =>
        typeof input === 'object' && input !== null && 'input' in input
          ? `echo: ${String((input as { input: unknown }).input)}`
          : toolFailure('invalid-input', 'expected { input: string }'),
    }),
  validInput: { input: 'hello' },
  expectOutput: (output) => {
    if (output !== 'echo: hello') throw new Error(`unexpected output ${output}`);
  },
  invalidInput: 42,
  invalidInputCode: 'invalid-input',
});
