import { lazySchema, parse } from '@arpo/core';
import { z } from 'zod';

/** Shape and options of the reference decoder-only transformer. */
export interface TransformerConfig {
  vocabSize: number;
  /** Longest sequence (positions) the model supports. */
  contextLength: number;
  modelDim: number;
  layers: number;
  heads: number;
  /** Hidden size of the MLP; default 4 × modelDim. */
  mlpDim?: number;
  /** Learned position table (a parameter) or fixed sinusoidal encodings. Default 'learned'. */
  positionEncoding?: 'learned' | 'sinusoidal';
  /** GELU via Erf (exact) or its tanh approximation. Default 'erf'. */
  activation?: 'gelu-erf' | 'gelu-tanh';
  /** Reuse the token embedding as the output head. Default true. */
  tieEmbeddings?: boolean;
  layerNormEpsilon?: number;
  /** Parameter and activation type; float64 is for gradient checks. Default float32. */
  dtype?: 'float32' | 'float64';
}

export type ResolvedTransformerConfig = Required<TransformerConfig>;

const positiveInteger = () => z.number().int().positive();

export const transformerConfigSchema = lazySchema<TransformerConfig>('transformer config', () =>
  z
    .object({
      vocabSize: positiveInteger(),
      contextLength: positiveInteger(),
      modelDim: positiveInteger(),
      layers: positiveInteger(),
      heads: positiveInteger(),
      mlpDim: positiveInteger().optional(),
      positionEncoding: z.enum(['learned', 'sinusoidal']).optional(),
      activation: z.enum(['gelu-erf', 'gelu-tanh']).optional(),
      tieEmbeddings: z.boolean().optional(),
      layerNormEpsilon: z.number().positive().optional(),
      dtype: z.enum(['float32', 'float64']).optional(),
    })
    .refine((config) => config.modelDim % config.heads === 0, {
      message: 'modelDim must be divisible by heads',
      path: ['heads'],
    }),
);

/** Validates a config and fills in defaults. */
export function resolveTransformerConfig(config: TransformerConfig): ResolvedTransformerConfig {
  const valid = parse(transformerConfigSchema, config);
  return {
    mlpDim: 4 * valid.modelDim,
    positionEncoding: 'learned',
    activation: 'gelu-erf',
    tieEmbeddings: true,
    layerNormEpsilon: 1e-5,
    dtype: 'float32',
    ...valid,
  };
}
