import { InvalidArgumentError, type Task, type Tokenizer } from '@arpo/core';
import type { RolloutPrompt } from './rollout-options.js';

/** Tokenizes a task's prompt messages with the tokenizer's chat template. */
export function promptFromTask(task: Task, tokenizer: Tokenizer): RolloutPrompt {
  if (tokenizer.applyChatTemplate === undefined) {
    throw new InvalidArgumentError({
      argument: 'tokenizer',
      message: 'has no chat template (applyChatTemplate)',
    });
  }
  return {
    promptId: task.id,
    promptTokenIds: tokenizer.applyChatTemplate(task.prompt, { addGenerationPrompt: true }),
  };
}
