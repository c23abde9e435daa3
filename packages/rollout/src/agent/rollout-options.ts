import { type EventSink, lazySchema, type Policy, type Tool, type ToolCallProtocol } from '@arpo/core';
import { z } from 'zod';

/** One prompt to roll out, already tokenized (use `promptFromTask` to build it from a Task). */
export interface RolloutPrompt {
  promptId: string;
  promptTokenIds: Int32Array;
}

/** Settings of the agent loop shared by every sampler. */
export interface AgentLoopSettings {
  /** Sampling temperature. Default 1. */
  temperature?: number;
  topP?: number;
  topK?: number;
  /** Max response tokens per trajectory, model plus tool tokens. Default 1024. */
  maxResponseTokens?: number;
  /** Max new tokens per model turn. Default: whatever remains of `maxResponseTokens`. */
  maxTurnTokens?: number;
  /** Tool calls allowed per trajectory. Default 3 (the reference's limit). */
  maxToolCalls?: number;
  /**
   * What happens when a turn would exceed `maxToolCalls`: `eos` (default, as the reference) appends the EOS
   * token as an environment token (loss mask 0) and ends the trajectory; `stop` ends it without appending.
   */
  onToolLimit?: 'eos' | 'stop';
  /** Per-call tool timeout. Default 30 000 ms. */
  toolTimeoutMs?: number;
  /** Tool calls in flight across all trajectories. Default 16. */
  toolConcurrency?: number;
  /** Safety limit on generation rounds. Default 64. */
  maxRounds?: number;
  /** Seed of every random choice (sampling seeds, branch draws). */
  seed: number;
}

export const agentLoopSettingsSchema = lazySchema<AgentLoopSettings>('rollout settings', () =>
  z.object({
    temperature: z.number().min(0).optional(),
    topP: z.number().gt(0).max(1).optional(),
    topK: z.number().int().nonnegative().optional(),
    maxResponseTokens: z.number().int().positive().optional(),
    maxTurnTokens: z.number().int().positive().optional(),
    maxToolCalls: z.number().int().nonnegative().optional(),
    onToolLimit: z.enum(['eos', 'stop']).optional(),
    toolTimeoutMs: z.number().positive().optional(),
    toolConcurrency: z.number().int().positive().optional(),
    maxRounds: z.number().int().positive().optional(),
    seed: z.number().int(),
  }),
);

/** What a rollout runs against. */
export interface RolloutEnvironment {
  policy: Policy;
  tools: readonly Tool[];
  protocol: ToolCallProtocol;
  events?: EventSink;
  signal?: AbortSignal;
}
