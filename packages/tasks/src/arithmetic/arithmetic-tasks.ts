import { createRandom, InvalidArgumentError, type Random, type Task } from '@arpo/core';
import { builtInSystemPrompt } from '../system-prompt.js';

export type Split = 'train' | 'test';

export interface ArithmeticProblem {
  /** Python expression the teacher runs, e.g. `347*28+119`. */
  expression: string;
  value: number;
}

export interface TaskGenerationOptions {
  seed: number;
  /** Number of tasks in the split. */
  count: number;
  split: Split;
  /**
   * The system message. Default `builtInSystemPrompt` (the ARPO tag instructions); `null` leaves it out, for
   * small models that learn the format from demonstrations and need the context for the answer.
   */
  systemPrompt?: string | null;
}

/** The prompt messages of a built-in task. */
export function taskPrompt(question: string, systemPrompt: string | null | undefined): Task['prompt'] {
  const system = systemPrompt === undefined ? builtInSystemPrompt : systemPrompt;
  return system === null
    ? [{ role: 'user', content: question }]
    : [
        { role: 'system', content: system },
        { role: 'user', content: question },
      ];
}

function draw(random: Random, digits: number): number {
  const low = 10 ** (digits - 1);
  return low + random.integer(9 * low);
}

function makeProblem(random: Random): ArithmeticProblem {
  const a = draw(random, 3);
  const b = draw(random, 2);
  const c = draw(random, 3);
  const form = random.integer(3);
  if (form === 0) return { expression: `${a}*${b}+${c}`, value: a * b + c };
  if (form === 1) return { expression: `${a}*${b}-${c}`, value: a * b - c };
  return { expression: `${a}+${b}*${c}`, value: a + b * c };
}

/** Train and test problems come from one seeded stream and never overlap. */
function splitProblems(seed: number, counts: Record<Split, number>): Record<Split, ArithmeticProblem[]> {
  const random = createRandom({ seed }).derive('arithmetic');
  const seen = new Set<string>();
  const result: Record<Split, ArithmeticProblem[]> = { train: [], test: [] };
  for (const split of ['test', 'train'] as const) {
    while (result[split].length < counts[split]) {
      const problem = makeProblem(random);
      if (seen.has(problem.expression)) continue;
      seen.add(problem.expression);
      result[split].push(problem);
    }
  }
  return result;
}

/** Turns an expression into the question text, e.g. `What is 347 * 28 + 119?`. */
export function arithmeticQuestion(expression: string): string {
  return `What is ${expression.replace(/([*+-])/g, ' $1 ')}?`;
}

/**
 * Arithmetic with 3-digit by 2-digit products: too hard for a small model to do in its head, easy with the
 * Python tool. The test split is drawn first from the same stream, so the same seed always gives the same
 * test set whatever the train size, and the splits never share a problem.
 */
export function generateArithmeticTasks(options: TaskGenerationOptions & { testCount?: number }): Task[] {
  if (!Number.isInteger(options.count) || options.count < 0) {
    throw new InvalidArgumentError({
      argument: 'count',
      message: `must be a non-negative integer, got ${options.count}`,
    });
  }
  const testCount = options.split === 'test' ? options.count : (options.testCount ?? 200);
  const trainCount = options.split === 'train' ? options.count : 0;
  const problems = splitProblems(options.seed, { train: trainCount, test: testCount })[options.split];
  return problems.map((problem, index) => ({
    id: `arithmetic-${options.split}-${index}`,
    prompt: taskPrompt(arithmeticQuestion(problem.expression), options.systemPrompt),
    references: [String(problem.value)],
    tools: ['python'],
    dataSource: 'arithmetic',
    metadata: { expression: problem.expression },
  }));
}
