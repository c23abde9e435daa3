import type { EventSink, Task } from '@arpo/core';
import { promptFromTask, sampleIndependent } from '@arpo/rollout';
import { type RlEnvironment, trajectoryAccuracy } from './rl-step.js';

export interface EvaluationOptions {
  environment: RlEnvironment;
  tasks: readonly Task[];
  seed: number;
  /** Samples per task. Default 1. */
  samples?: number;
  /** 0 = greedy (default). */
  temperature?: number;
  maxResponseTokens?: number;
  maxToolCalls?: number;
  events?: EventSink;
  step?: number;
}

export interface EvaluationResult {
  accuracy: number;
  meanReward: number;
  /** Share of samples the reward marks as a format error (reward component `format` < 0). */
  formatErrors: number;
  toolCallsPerSample: number;
  /** Share of samples that called at least one tool. */
  toolUse: number;
  /** Share of tool calls that failed (tool error fed back). */
  toolErrors: number;
  meanResponseTokens: number;
  samples: number;
  /** Every sample's task, response text and reward, in task order. */
  transcripts: {
    taskId: string;
    question: string;
    references: string[];
    response: string;
    reward: number;
    correct: number;
  }[];
}

/** Rolls out every task (greedy by default) and scores it: accuracy, reward, format errors, tool statistics. */
export async function evaluatePolicy(options: EvaluationOptions): Promise<EvaluationResult> {
  const { environment } = options;
  const tokenizer = environment.policy.tokenizer;
  const groups = await sampleIndependent({
    environment: { policy: environment.policy, tools: environment.tools, protocol: environment.protocol },
    prompts: options.tasks.map((task) => promptFromTask(task, tokenizer)),
    n: options.samples ?? 1,
    settings: {
      seed: options.seed,
      temperature: options.temperature ?? 0,
      ...(options.maxResponseTokens === undefined ? {} : { maxResponseTokens: options.maxResponseTokens }),
      ...(options.maxToolCalls === undefined ? {} : { maxToolCalls: options.maxToolCalls }),
    },
  });
  const tasks = new Map(options.tasks.map((task) => [task.id, task]));
  let accuracy = 0;
  let reward = 0;
  let formatErrors = 0;
  let toolCalls = 0;
  let toolUse = 0;
  let failedCalls = 0;
  let responseTokens = 0;
  let samples = 0;
  const transcripts: EvaluationResult['transcripts'] = [];
  for (const group of groups) {
    const task = tasks.get(group.promptId) as Task;
    for (const trajectory of group.trajectories) {
      const responseText = tokenizer.decode(trajectory.responseTokenIds, { skipSpecialTokens: true });
      trajectory.reward = await environment.reward.compute({ task, trajectory, responseText });
      transcripts.push({
        taskId: task.id,
        question: task.prompt.at(-1)?.content ?? '',
        references: task.references,
        response: responseText,
        reward: trajectory.reward.total,
        correct: trajectoryAccuracy(trajectory),
      });
      samples += 1;
      accuracy += trajectoryAccuracy(trajectory);
      reward += trajectory.reward.total;
      if ((trajectory.reward.components.format ?? 0) < 0) formatErrors += 1;
      const calls = trajectory.segments.flatMap((segment) => (segment.kind === 'tool' ? segment.calls : []));
      toolCalls += calls.length;
      if (calls.length > 0) toolUse += 1;
      failedCalls += calls.filter((call) => call.error !== undefined).length;
      responseTokens += trajectory.responseTokenIds.length;
    }
  }
  const share = (value: number, total: number) => (total === 0 ? 0 : value / total);
  const result: EvaluationResult = {
    accuracy: share(accuracy, samples),
    meanReward: share(reward, samples),
    formatErrors: share(formatErrors, samples),
    toolCallsPerSample: share(toolCalls, samples),
    toolUse: share(toolUse, samples),
    toolErrors: share(failedCalls, toolCalls),
    meanResponseTokens: share(responseTokens, samples),
    samples,
    transcripts,
  };
  const { transcripts: _transcripts, ...metrics } = result;
  options.events?.emit({ type: 'evaluation-end', step: options.step ?? 0, metrics });
  return result;
}
