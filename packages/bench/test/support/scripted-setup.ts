import type { Policy } from '@arpo/core';
import { createArpoTagProtocol } from '@arpo/sandbox';
import { createScriptedPolicy, createScriptedTool } from '@arpo/testing';
import type { BenchmarkItem } from '../../src/datasets/benchmark-item.js';

/** Math items "What is a+b?" with their sums as references. */
export function sumItems(count: number): BenchmarkItem[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `sum-${index}`,
    question: `What is ${index}+${index + 2}?`,
    references: [String(2 * index + 2)],
    answerKind: 'math' as const,
    dataSource: 'sums',
    metadata: {},
    location: { file: 'inline', line: undefined, record: index },
  }));
}

/**
 * A scripted agent: first turn calls `<python>` with the sum, then answers. The answer is right unless the turn's
 * seed is divisible by 3, so samples differ deterministically by seed.
 */
export function createSumAgent(options: { failAfterCalls?: number } = {}) {
  let calls = 0;
  const scripted = createScriptedPolicy({
    respond: ({ contextText, seed }) => {
      const match = /What is (\d+)\+(\d+)\?/.exec(contextText);
      const sum = Number(match?.[1]) + Number(match?.[2]);
      const turn = contextText.slice(contextText.lastIndexOf('<|assistant|>'));
      if (!turn.includes('<result>'))
        return { text: `<python>print(${match?.[1]}+${match?.[2]})</python>`, endWithEos: false };
      const right = (seed ?? 0) % 3 !== 0;
      return `<answer>\\boxed{${right ? sum : sum + 1}}</answer>`;
    },
  });
  const policy: Policy = {
    ...scripted,
    id: scripted.id,
    tokenizer: scripted.tokenizer,
    vocabularySize: scripted.vocabularySize,
    contextLength: scripted.contextLength,
    capabilities: scripted.capabilities,
    async generate(requests, generateOptions) {
      calls += 1;
      if (options.failAfterCalls !== undefined && calls > options.failAfterCalls) {
        throw new Error(`policy crashed on generate call ${calls}`);
      }
      return scripted.generate(requests, generateOptions);
    },
  };
  const python = createScriptedTool({
    name: 'python',
    respond: (input) => {
      const code = String(input);
      const match = /print\((\d+)\+(\d+)\)/.exec(code);
      return match === null ? 'error' : String(Number(match[1]) + Number(match[2]));
    },
  });
  const protocol = createArpoTagProtocol({ tags: ['python'] });
  return { policy, python, protocol, tools: [python] };
}
