import { ArpoError } from '@arpo/core';

const name = 'ArpoDistributedRolloutError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * Distributed rollouts could not finish: every worker died, a worker's setup failed, or a prompt failed on
 * every attempt. Groups already completed are in the results file; running again with the same file resumes.
 */
export class DistributedRolloutError extends ArpoError {
  private readonly [symbol] = true;

  /** Prompt ids without a group. */
  readonly unfinishedPromptIds: readonly string[];

  constructor(options: { message: string; unfinishedPromptIds: readonly string[]; cause?: unknown }) {
    super({
      name,
      code: 'distributed-rollout-failed',
      message: `${options.message} (${options.unfinishedPromptIds.length} prompts unfinished)`,
      cause: options.cause,
      isRetryable: true,
    });
    this.unfinishedPromptIds = options.unfinishedPromptIds;
  }

  static override isInstance(error: unknown): error is DistributedRolloutError {
    return ArpoError.hasMarker(error, marker);
  }
}
