import type { Task } from '@arpo/core';
import type { AnswerKind, BenchmarkItem } from './benchmark-item.js';

const numberPattern = /^-?\d+(?:\.\d+)?$/;

/**
 * `Task`s (the built-in generators', or a training set's) as evaluation items: the task's own prompt is kept as
 * the item's conversation, `question` is its last message. The answer kind defaults to `math` when every
 * reference is a number and `text` otherwise, so the default scorer compares numbers exactly and names by
 * SQuAD exact match.
 */
export function benchmarkItemsFromTasks(
  tasks: readonly Task[],
  options: { source?: string; answerKind?: (task: Task) => AnswerKind } = {},
): BenchmarkItem[] {
  const source = options.source ?? '(tasks)';
  return tasks.map((task, index) => ({
    id: task.id,
    question: task.prompt.at(-1)?.content ?? '',
    references: [...task.references],
    answerKind:
      options.answerKind?.(task) ??
      (task.references.length > 0 &&
      task.references.every((reference) => numberPattern.test(reference.trim()))
        ? 'math'
        : 'text'),
    dataSource: task.dataSource ?? 'tasks',
    prompt: task.prompt,
    metadata: task.metadata ?? {},
    location: { file: source, line: undefined, record: index },
  }));
}
