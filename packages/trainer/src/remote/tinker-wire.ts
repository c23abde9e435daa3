import { integerArraySchema, lazySchema, numberArraySchema } from '@arpo/core';
import { z } from 'zod';

// The Tinker training API on the wire, as SkyRL's server speaks it (JSON, snake_case). Request schemas are what
// the ARPO.ts training API server validates; result schemas are what the client accepts (lenient: unknown keys
// are dropped, because backends add fields). Token and value arrays are checked with one loop each, never a
// zod schema per element.

/** Checkpoint names in save calls: SkyRL's regex, at most 255 characters. */
export const checkpointNamePattern = /^[a-zA-Z0-9_-]{1,255}$/;

/** The loss functions the Tinker API names (not every server implements all of them). */
export const tinkerLossFunctions = [
  'cross_entropy',
  'importance_sampling',
  'ppo',
  'cispo',
  'gspo',
  'dppo',
  'ppo_critic',
] as const;
export type TinkerLossFunction = (typeof tinkerLossFunctions)[number];

export interface TinkerTensorData {
  data: number[];
  dtype?: string;
  shape?: number[];
}

export interface TinkerModelInput {
  chunks: { type?: 'encoded_text'; tokens: number[] }[];
}

export interface TinkerDatum {
  model_input: TinkerModelInput;
  loss_fn_inputs: Record<string, TinkerTensorData>;
}

export interface TinkerForwardBackwardInput {
  loss_fn: TinkerLossFunction;
  loss_fn_config?: Record<string, number> | null;
  data: TinkerDatum[];
}

export interface TinkerAdamParams {
  learning_rate?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weight_decay?: number;
  /** Hosted Tinker and the ARPO.ts server honour it; SkyRL drops it silently. */
  grad_clip_norm?: number;
}

export interface TinkerSamplingParams {
  max_tokens?: number | null;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  seed?: number | null;
  stop?: (number | string)[] | null;
  /** ARPO.ts extension: top-k alternatives per generated token (other servers ignore it). */
  top_logprobs?: number;
}

const tensorDataSchema = () =>
  z.object({
    data: numberArraySchema(),
    dtype: z.string().optional(),
    shape: z.array(z.number()).optional(),
  });

const modelInputSchema = () =>
  z.object({
    chunks: z
      .array(
        z.object({
          type: z.literal('encoded_text', { error: 'only encoded_text chunks are supported' }).optional(),
          tokens: integerArraySchema(),
        }),
      )
      .min(1),
  });

const sequenceId = () => z.number().int().min(0).nullable().optional();

const forwardBackwardInputSchema = () =>
  z.object({
    loss_fn: z.enum(tinkerLossFunctions),
    loss_fn_config: z.record(z.string(), z.number()).nullable().optional(),
    data: z
      .array(
        z.object({
          model_input: modelInputSchema(),
          loss_fn_inputs: z.record(z.string(), tensorDataSchema()),
        }),
      )
      .min(1),
  });

export const tinkerForwardBackwardRequestSchema = lazySchema('forward_backward request', () =>
  z.object({
    model_id: z.string(),
    seq_id: sequenceId(),
    forward_backward_input: forwardBackwardInputSchema(),
  }),
);

export const tinkerForwardRequestSchema = lazySchema('forward request', () =>
  z.object({ model_id: z.string(), seq_id: sequenceId(), forward_input: forwardBackwardInputSchema() }),
);

export const tinkerOptimStepRequestSchema = lazySchema('optim_step request', () =>
  z.object({
    model_id: z.string(),
    seq_id: sequenceId(),
    adam_params: z.object({
      learning_rate: z.number().min(0).optional(),
      beta1: z.number().min(0).lt(1).optional(),
      beta2: z.number().min(0).lt(1).optional(),
      eps: z.number().gt(0).optional(),
      weight_decay: z.number().min(0).optional(),
      grad_clip_norm: z.number().min(0).optional(),
    }),
  }),
);

export const tinkerCreateSessionRequestSchema = lazySchema('create_session request', () =>
  z.object({
    tags: z.array(z.string()),
    sdk_version: z.string(),
    user_metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  }),
);

export const tinkerSessionRequestSchema = lazySchema('session request', () =>
  z.object({ session_id: z.string() }),
);

export const tinkerCreateModelRequestSchema = lazySchema('create_model request', () =>
  z.object({
    session_id: z.string(),
    base_model: z.string().min(1),
    lora_config: z.object({
      rank: z.number().int().min(0),
      seed: z.number().int().nullable().optional(),
    }),
    model_role: z.enum(['policy', 'critic']).optional(),
  }),
);

export const tinkerModelRequestSchema = lazySchema('model request', () => z.object({ model_id: z.string() }));

export const tinkerSaveWeightsForSamplerRequestSchema = lazySchema('save_weights_for_sampler request', () =>
  z
    .object({
      model_id: z.string(),
      path: z.string().regex(checkpointNamePattern).nullable().optional(),
      sampling_session_seq_id: z.number().int().min(0).nullable().optional(),
      seq_id: sequenceId(),
    })
    .refine(
      (value) =>
        (value.path !== undefined && value.path !== null) ||
        (value.sampling_session_seq_id != null && value.seq_id != null),
      { message: 'either path or both sampling_session_seq_id and seq_id are required' },
    ),
);

export const tinkerSaveWeightsRequestSchema = lazySchema('save_weights request', () =>
  z.object({ model_id: z.string(), path: z.string().regex(checkpointNamePattern), seq_id: sequenceId() }),
);

export const tinkerLoadWeightsRequestSchema = lazySchema('load_weights request', () =>
  z.object({
    model_id: z.string(),
    path: z.string().startsWith('tinker://'),
    optimizer: z.boolean().optional(),
    seq_id: sequenceId(),
  }),
);

export const tinkerWeightsInfoRequestSchema = lazySchema('weights_info request', () =>
  z.object({ tinker_path: z.string().startsWith('tinker://') }),
);

export const tinkerCreateSamplingSessionRequestSchema = lazySchema('create_sampling_session request', () =>
  z
    .object({
      session_id: z.string(),
      sampling_session_seq_id: z.number().int().min(0),
      base_model: z.string().nullable().optional(),
      model_path: z.string().nullable().optional(),
    })
    .refine((value) => (value.base_model == null) !== (value.model_path == null), {
      message: 'exactly one of base_model and model_path is required',
    }),
);

export const tinkerSampleRequestSchema = lazySchema('asample request', () =>
  z.object({
    sampling_session_id: z.string().nullable().optional(),
    seq_id: z.number().int().nullable().optional(),
    base_model: z.string().nullable().optional(),
    model_path: z.string().nullable().optional(),
    prompt: modelInputSchema(),
    num_samples: z.number().int().min(1).max(256).optional(),
    sampling_params: z.object({
      max_tokens: z.number().int().nullable().optional(),
      temperature: z.number().min(0).max(100).optional(),
      top_k: z.number().int().min(-1).optional(),
      top_p: z.number().gt(0).max(1).optional(),
      seed: z.number().int().nullable().optional(),
      stop: z
        .array(z.union([z.number().int(), z.string().min(1)]))
        .max(64)
        .nullable()
        .optional(),
      top_logprobs: z.number().int().min(0).max(20).optional(),
    }),
    prompt_logprobs: z.boolean().nullable().optional(),
    topk_prompt_logprobs: z.number().int().min(0).nullable().optional(),
  }),
);

export const tinkerRetrieveFutureRequestSchema = lazySchema('retrieve_future request', () =>
  z.object({ request_id: z.union([z.string().min(1), z.number().int()]).transform(String) }),
);

// ---- responses and results (client side, lenient) ----

const numberRecord = () =>
  z
    .record(z.string(), z.unknown())
    .nullable()
    .optional()
    .transform((record) => {
      const out: Record<string, number> = {};
      for (const [key, value] of Object.entries(record ?? {})) {
        // JSON has no NaN/Infinity: servers send null for them.
        if (typeof value === 'number') out[key] = value;
        else if (value === null) out[key] = Number.NaN;
      }
      return out;
    });

export const tinkerFutureResponseSchema = lazySchema('future response', () =>
  z.looseObject({ request_id: z.union([z.string(), z.number()]).transform(String) }),
);

export const tinkerCreateSessionResponseSchema = lazySchema('create_session response', () =>
  z.looseObject({ session_id: z.string() }),
);

export const tinkerCreateModelResponseSchema = lazySchema('create_model response', () =>
  z.looseObject({ model_id: z.string(), request_id: z.union([z.string(), z.number()]).transform(String) }),
);

export const tinkerForwardResultSchema = lazySchema('forward_backward result', () =>
  z.looseObject({
    loss_fn_outputs: z.array(z.looseObject({ logprobs: z.looseObject({ data: numberArraySchema() }) })),
    metrics: numberRecord(),
  }),
);

export const tinkerOptimStepResultSchema = lazySchema('optim_step result', () =>
  z.looseObject({ metrics: numberRecord() }),
);

export const tinkerSaveWeightsForSamplerResultSchema = lazySchema('save_weights_for_sampler result', () =>
  z.looseObject({
    path: z.string().nullable().optional(),
    sampling_session_id: z.string().nullable().optional(),
  }),
);

export const tinkerSaveWeightsResultSchema = lazySchema('save_weights result', () =>
  z.looseObject({ path: z.string() }),
);

export const tinkerWeightsInfoResponseSchema = lazySchema('weights_info response', () =>
  z.looseObject({ base_model: z.string(), lora_rank: z.number().nullable().optional() }),
);

export const tinkerCapabilitiesResponseSchema = lazySchema('get_server_capabilities response', () =>
  z.looseObject({
    supported_models: z.array(z.looseObject({ model_name: z.string() })).optional(),
    arpo_extensions: z.array(z.string()).optional(),
  }),
);

export const tinkerCheckpointsResponseSchema = lazySchema('checkpoints response', () =>
  z.looseObject({
    checkpoints: z.array(z.looseObject({ checkpoint_id: z.string(), tinker_path: z.string() })),
  }),
);

export const tinkerSampleResultSchema = lazySchema('asample result', () =>
  z.looseObject({
    sequences: z.array(
      z.looseObject({
        tokens: integerArraySchema(),
        logprobs: numberArraySchema().nullable().optional(),
        stop_reason: z.string().nullable().optional(),
        // ARPO.ts extensions (absent on other servers).
        entropies: numberArraySchema().optional(),
        top_logprobs: z.array(z.array(z.tuple([z.number(), z.number()]))).optional(),
      }),
    ),
    usage: z
      .looseObject({
        prompt_tokens: z.number(),
        reused_prompt_tokens: z.number(),
        computed_prompt_tokens: z.number(),
      })
      .optional(),
  }),
);

/** Names of the ARPO.ts extensions the training API server announces in `get_server_capabilities`. */
export const arpoTinkerExtensions = {
  /** Exact per-token entropies in sample results. */
  entropies: 'sample_entropies',
  /** `sampling_params.top_logprobs` → per-token top-k alternatives in sample results. */
  topLogprobs: 'sample_top_logprobs',
  /** Prefix-cache accounting (`usage`) in sample results. */
  usage: 'sample_usage',
} as const;

/** Any result (futures whose content is not needed). */
export const tinkerAnyResultSchema = lazySchema<unknown>('result', () => z.unknown());
