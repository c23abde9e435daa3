import type { SpecialTokens } from '@arpo/core';
import type { DecoderTransformer } from '@arpo/tensor';

/**
 * The `config.json` of an exported model. The reference decoder is GPT-2's architecture (pre-LN blocks, learned
 * positions, tied head, GELU MLP), so it is described as `model_type: gpt2`; `@huggingface/transformers` reads
 * the head count, layer count and width from it to shape the empty KV cache.
 */
export function huggingFaceConfig(
  model: DecoderTransformer,
  specialTokens: SpecialTokens,
): Record<string, unknown> {
  const { config } = model;
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: config.vocabSize,
    n_positions: config.contextLength,
    n_ctx: config.contextLength,
    n_embd: config.modelDim,
    n_layer: config.layers,
    n_head: config.heads,
    n_inner: config.mlpDim,
    activation_function: config.activation === 'gelu-tanh' ? 'gelu_new' : 'gelu',
    layer_norm_epsilon: config.layerNormEpsilon,
    tie_word_embeddings: config.tieEmbeddings,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    scale_attn_weights: true,
    use_cache: true,
    ...tokenIds(specialTokens),
    torch_dtype: 'float32',
    // Not a GPT-2 field: records the position encoding (sinusoidal has no GPT-2 equivalent; the ONNX graph
    // carries its table as a constant, so ONNX runtimes are unaffected).
    arpo_position_encoding: config.positionEncoding,
  };
}

/** The `generation_config.json`: special token ids (sampling settings come with each request). */
export function huggingFaceGenerationConfig(specialTokens: SpecialTokens): Record<string, unknown> {
  return tokenIds(specialTokens);
}

function tokenIds(specialTokens: SpecialTokens): Record<string, number> {
  const ids: Record<string, number> = {};
  if (specialTokens.bos !== undefined) ids.bos_token_id = specialTokens.bos;
  ids.eos_token_id = specialTokens.eos;
  if (specialTokens.pad !== undefined) ids.pad_token_id = specialTokens.pad;
  return ids;
}
