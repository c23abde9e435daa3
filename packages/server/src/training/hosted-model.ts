import type { GenerationRequest, Tokenizer, TrainingDatum } from '@arpo/core';
import type { NativePolicy } from '@arpo/policy';
import type { DecoderTransformer, TensorValue } from '@arpo/tensor';
import type { LocalTrainerBackend } from '@arpo/trainer';

/** The local pieces of one model the training API server hosts. */
export interface HostedModelParts {
  model: DecoderTransformer;
  /** The base weights; the server trains a copy in place. */
  parameters: Map<string, TensorValue>;
  tokenizer: Tokenizer;
}

/**
 * Builds the base model named in `create_model`. `seed` and `rank` are the request's LoRA settings: this engine
 * trains all parameters, so they may be ignored (a fresh model must equal the base model, as with LoRA).
 */
export type LocalModelFactory = (options: {
  seed: number | undefined;
  rank: number;
}) => Promise<HostedModelParts>;

export interface SamplerCheckpoint {
  state: 'pending' | 'done' | 'failed';
  /** Ephemeral checkpoints (sampling sessions) live in memory only and may be evicted. */
  ephemeral: boolean;
  parameters?: Map<string, TensorValue>;
  /** Where a persistent checkpoint is written. */
  file?: string;
  time: string;
}

export interface TrainingCheckpoint {
  state: 'pending' | 'done' | 'failed';
  directory: string;
  time: string;
}

/** One queued sample request. */
export interface SampleEntry {
  requestId: string;
  checkpoint: string;
  request: GenerationRequest;
  /** Token-id stops besides EOS, applied to the output. */
  stopIds: number[];
}

/** The loss of a forward_backward request, as the local objective takes it. */
export interface RequestLoss {
  lossFunction: 'cross_entropy' | 'importance_sampling' | 'ppo';
  clipLow?: number;
  clipHigh?: number;
}

/** Requests of a sequence-mean server kept until the step's datum count is known (see the engine). */
export interface DeferredBatch extends RequestLoss {
  datums: TrainingDatum[];
}

/** Engine-side state of one model created through the API. */
export class HostedModel {
  readonly id: string;
  readonly baseModel: string;
  readonly rank: number;
  readonly seed: number | undefined;
  readonly directory: string;
  status: 'loading' | 'ready' | 'failed' | 'unloaded' = 'loading';
  /** Set once the model is loaded. */
  backend: LocalTrainerBackend | undefined;
  sampler: NativePolicy | undefined;
  contextLength = 0;
  vocabularySize = 0;
  /** Requests run one at a time, in arrival order. */
  queue: Promise<void> = Promise.resolve();
  /** Requests accepted after create_model (load_weights must be the first). */
  requestCount = 0;
  lastRequestTime = new Date().toISOString();
  /** seq_id → the request it named, for idempotent retries. */
  readonly sequenceIds = new Map<number, { key: string; requestId: string }>();
  readonly samplerCheckpoints = new Map<string, SamplerCheckpoint>();
  readonly trainingCheckpoints = new Map<string, TrainingCheckpoint>();
  /** The sampler checkpoint whose weights the sampling policy holds; undefined = the live training weights. */
  loadedSampler: string | undefined;
  /** Sample requests waiting for the queue (run together, one batch per sampler checkpoint). */
  sampleBatch: SampleEntry[] = [];
  deferred: DeferredBatch[] = [];

  constructor(options: {
    id: string;
    baseModel: string;
    rank: number;
    seed: number | undefined;
    directory: string;
  }) {
    this.id = options.id;
    this.baseModel = options.baseModel;
    this.rank = options.rank;
    this.seed = options.seed;
    this.directory = options.directory;
  }

  /** Runs `work` after everything queued before it. */
  enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work, work).catch(() => undefined);
  }
}
