import type { AgentLoopSettings, RolloutEnvironment } from '../agent/rollout-options.js';
import type { ArpoSamplerOptions } from '../samplers/arpo-sampler.js';

/** What a worker process builds its environment from: a module exporting `createRolloutEnvironment`. */
export interface RolloutWorkerSetup {
  /** Absolute path or file URL of an ES module exporting `createRolloutEnvironment(options)`. */
  module: string;
  /** Passed to `createRolloutEnvironment` (JSON): endpoints, model id, tokenizer folder, ... */
  options?: unknown;
}

/** The function a setup module exports: it runs once per worker process. */
export type CreateRolloutEnvironment = (options: {
  setup: unknown;
  workerIndex: number;
}) => Promise<RolloutEnvironment & { close?(): Promise<void> }>;

/** Which sampler a worker runs per prompt. */
export type DistributedSampler =
  | { kind: 'arpo'; arpo?: ArpoSamplerOptions }
  | { kind: 'independent'; samples: number };

export type ParentMessage =
  | {
      type: 'start';
      workerIndex: number;
      setup: RolloutWorkerSetup;
      settings: AgentLoopSettings;
      sampler: DistributedSampler;
    }
  | { type: 'prompt'; promptId: string; promptTokenIds: number[] }
  | { type: 'stop' };

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'started'; promptId: string }
  | { type: 'group'; promptId: string; line: string }
  | { type: 'failed'; promptId?: string; message: string };
