import { z } from 'zod';
import type { ChatMessage } from '../policy/tokenizer.js';
import { lazySchema } from '../schema/lazy-schema.js';
import type { Tool, ToolCallProtocol } from '../tool/index.js';
import type { Reward, Trajectory } from '../trajectory/trajectory.js';

/** One verifiable problem: what the model is asked and what counts as right. */
export interface Task {
  id: string;
  /** The conversation up to the model's turn (system prompt with the tool instructions, user question). */
  prompt: ChatMessage[];
  /** Accepted answers (aliases); scorers match against any of them. */
  references: string[];
  /** Names of the tools the model may call for this task. */
  tools: string[];
  /** Where the task comes from (`gsm8k`, `arithmetic`, ...), for per-source metrics. */
  dataSource?: string;
  metadata?: Record<string, unknown>;
}

export const chatMessageSchema = lazySchema<ChatMessage>('chat message', () =>
  z.object({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: z.string() }),
);

export const taskSchema = lazySchema<Task>('Task', () =>
  z.object({
    id: z.string().min(1),
    prompt: z.array(chatMessageSchema.schema).min(1),
    references: z.array(z.string()),
    tools: z.array(z.string()),
    dataSource: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
);

export interface RewardInput {
  task: Task;
  trajectory: Trajectory;
  /** The decoded response (model and tool text), as the reward sees it. */
  responseText: string;
}

/** Scores a finished trajectory. Pure and deterministic for a given input. */
export interface RewardFunction {
  readonly name: string;
  compute(input: RewardInput): Reward | Promise<Reward>;
}

/** Everything an agent loop needs around a task: its tools, how calls are written, and how it is scored. */
export interface Environment {
  readonly name: string;
  readonly tools: readonly Tool[];
  readonly protocol: ToolCallProtocol;
  readonly reward: RewardFunction;
  /** Maximum tool calls per trajectory. */
  readonly maxToolCalls?: number;
}
