import { z } from 'zod';
import { integerArraySchema, maskArraySchema, numberArraySchema } from '../schema/array-schemas.js';
import { lazySchema } from '../schema/lazy-schema.js';
import { type ToolErrorInfo, toolErrorInfoSchema } from '../tool/tool.js';

/** Why generation of a model turn, or a whole trajectory, ended. */
export type FinishReason =
  /** The model emitted its end-of-sequence token. */
  | 'eos'
  /** A stop string fired (for example a closing tool tag); the stop string is kept in the token stream. */
  | 'stop'
  /** The token budget (max tokens of the turn or max response length of the trajectory) was used up. */
  | 'length'
  /** The per-trajectory tool-call limit was exceeded; the trajectory was ended. */
  | 'tool-limit'
  /** The caller cancelled. */
  | 'abort'
  /** Something failed that is not the model's fault; see the trajectory's metrics or events. */
  | 'error';

export const finishReasons = ['eos', 'stop', 'length', 'tool-limit', 'abort', 'error'] as const;

/** One tool invocation made while producing a trajectory. */
export interface ToolCallRecord {
  toolName: string;
  /** The parsed input (a string for tag protocols, an object for JSON function calls). */
  input: unknown;
  /** The text fed back to the model (already formatted by the protocol, without the wrapping tags). */
  output: string;
  /** Present when the call failed; the failure text was still fed back to the model. */
  error?: ToolErrorInfo;
  latencyMs: number;
  /** True when the result came from a result cache instead of running the tool. */
  cached?: boolean;
}

/**
 * A contiguous span of the response. Model segments are tokens the policy sampled (loss mask 1); tool segments
 * are tokens the environment appended (loss mask 0).
 */
export type Segment =
  | {
      kind: 'model';
      /** Response token range [start, end). */
      start: number;
      end: number;
      finishReason: FinishReason;
      /** The stop string that ended this turn, when `finishReason` is `stop`. */
      stopString?: string;
      latencyMs?: number;
    }
  | {
      kind: 'tool';
      start: number;
      end: number;
      /** One result span can carry several calls when a turn made more than one. */
      calls: ToolCallRecord[];
    };

/** A scalar reward plus its named parts (format, answer F1, tool bonus, overlong penalty, ...). */
export interface Reward {
  total: number;
  components: Record<string, number>;
}

/**
 * One prompt's full interaction at token level. Arrays indexed by response position all have the same length.
 * At positions with loss mask 0 (tool/environment tokens) `logprobs` and `entropies` are 0: those tokens were
 * not sampled.
 */
export interface Trajectory {
  id: string;
  /** Identifies the prompt (task) this trajectory answers; trajectories of one group share it. */
  promptId: string;
  promptTokenIds: Int32Array;
  responseTokenIds: Int32Array;
  /** Log-probability of each sampled token under the sampling policy. */
  logprobs: Float32Array;
  /** Entropy (nats) of the next-token distribution at each sampled position. */
  entropies: Float32Array;
  /** 1 = policy token (trained on), 0 = tool or environment token. */
  lossMask: Uint8Array;
  segments: Segment[];
  finishReason: FinishReason;
  reward?: Reward;
  metrics: Record<string, number>;
}

/** Plain-JSON form of a trajectory (typed arrays become number arrays), for files and HTTP. */
export interface TrajectoryJson {
  id: string;
  promptId: string;
  promptTokenIds: number[];
  responseTokenIds: number[];
  logprobs: number[];
  entropies: number[];
  lossMask: number[];
  segments: Segment[];
  finishReason: FinishReason;
  reward?: Reward;
  metrics: Record<string, number>;
}

export const rewardSchema = lazySchema<Reward>('reward', () =>
  z.object({ total: z.number(), components: z.record(z.string(), z.number()) }),
);

const toolCallRecordSchema = () =>
  z.object({
    toolName: z.string().min(1),
    input: z.unknown(),
    output: z.string(),
    error: toolErrorInfoSchema.schema.optional(),
    latencyMs: z.number().nonnegative(),
    cached: z.boolean().optional(),
  });

const segmentSchema = () =>
  z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('model'),
      start: z.number().int().nonnegative(),
      end: z.number().int().nonnegative(),
      finishReason: z.enum(finishReasons),
      stopString: z.string().optional(),
      latencyMs: z.number().nonnegative().optional(),
    }),
    z.object({
      kind: z.literal('tool'),
      start: z.number().int().nonnegative(),
      end: z.number().int().nonnegative(),
      calls: z.array(toolCallRecordSchema()),
    }),
  ]);

function trajectoryObjectSchema<TIds, TFloats, TMask>(arrays: {
  ids: z.ZodType<TIds>;
  floats: z.ZodType<TFloats>;
  mask: z.ZodType<TMask>;
}) {
  return z
    .object({
      id: z.string().min(1),
      promptId: z.string().min(1),
      promptTokenIds: arrays.ids,
      responseTokenIds: arrays.ids,
      logprobs: arrays.floats,
      entropies: arrays.floats,
      lossMask: arrays.mask,
      segments: z.array(segmentSchema()),
      finishReason: z.enum(finishReasons),
      reward: rewardSchema.schema.optional(),
      metrics: z.record(z.string(), z.number()),
    })
    .superRefine((value, context) => {
      const length = (value.responseTokenIds as ArrayLike<number>).length;
      for (const key of ['logprobs', 'entropies', 'lossMask'] as const) {
        const actual = (value[key] as ArrayLike<number>).length;
        if (actual !== length) {
          context.addIssue({
            code: 'custom',
            path: [key],
            message: `has length ${actual} but responseTokenIds has length ${length}`,
          });
        }
      }
      let previousEnd = 0;
      value.segments.forEach((segment, index) => {
        if (segment.start !== previousEnd || segment.end < segment.start || segment.end > length) {
          context.addIssue({
            code: 'custom',
            path: ['segments', index],
            message: `span [${segment.start}, ${segment.end}) must start at ${previousEnd} and end within the response (${length} tokens)`,
          });
        }
        previousEnd = segment.end;
      });
      if (value.segments.length > 0 && previousEnd !== length) {
        context.addIssue({
          code: 'custom',
          path: ['segments'],
          message: `segments cover ${previousEnd} tokens but the response has ${length}`,
        });
      }
    });
}

/** Validates an in-memory trajectory (typed arrays) handed over a public boundary. */
export const trajectorySchema = lazySchema<Trajectory>(
  'Trajectory',
  () =>
    trajectoryObjectSchema({
      ids: z.instanceof(Int32Array),
      floats: z.instanceof(Float32Array),
      mask: z.instanceof(Uint8Array),
    }) as unknown as z.ZodType<Trajectory>,
);

/** Validates the JSON form of a trajectory (files, HTTP). */
export const trajectoryJsonSchema = lazySchema<TrajectoryJson>(
  'Trajectory',
  () =>
    trajectoryObjectSchema({
      ids: integerArraySchema(),
      floats: numberArraySchema(),
      mask: maskArraySchema(),
    }) as unknown as z.ZodType<TrajectoryJson>,
);

export function trajectoryToJson(trajectory: Trajectory): TrajectoryJson {
  return {
    ...trajectory,
    promptTokenIds: Array.from(trajectory.promptTokenIds),
    responseTokenIds: Array.from(trajectory.responseTokenIds),
    logprobs: Array.from(trajectory.logprobs),
    entropies: Array.from(trajectory.entropies),
    lossMask: Array.from(trajectory.lossMask),
  };
}

export function trajectoryFromJson(json: TrajectoryJson): Trajectory {
  return {
    ...json,
    promptTokenIds: Int32Array.from(json.promptTokenIds),
    responseTokenIds: Int32Array.from(json.responseTokenIds),
    logprobs: Float32Array.from(json.logprobs),
    entropies: Float32Array.from(json.entropies),
    lossMask: Uint8Array.from(json.lossMask),
  };
}
