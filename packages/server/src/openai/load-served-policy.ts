import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Policy, Tokenizer } from '@arpo/core';
import { loadHuggingFaceTokenizer, ModelFolderError, NativePolicy, TransformersPolicy } from '@arpo/policy';
import { DecoderTransformer, type TensorValue } from '@arpo/tensor';
import { readOnnxInitializers } from './read-onnx-initializers.js';

/**
 * Loads a model folder for serving with the fastest local runtime that can run it. A folder written by
 * `exportHuggingFaceModel` (its config.json carries `arpo_position_encoding`) becomes a `NativePolicy` (weights read
 * back from the ONNX initializers): batched decode across requests, which is what lets many rollout workers share
 * one model. Any other Hugging Face ONNX causal-LM folder is served by `TransformersPolicy` (requests decode one
 * after another).
 */
export async function loadServedPolicy(options: {
  folder: string;
  id?: string;
  threads?: number;
  seed?: number;
}): Promise<{
  policy: Policy;
  runtime: 'native' | 'transformers';
  /** The native model's pieces (for the training API of `arpo serve --trainer`); absent for transformers. */
  parts?: { model: DecoderTransformer; parameters: Map<string, TensorValue>; tokenizer: Tokenizer };
}> {
  const folder = resolve(options.folder);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new ModelFolderError({
      folder,
      file: 'config.json',
      problem: 'missing-file',
      message: `cannot be read: ${String(cause)}`,
      cause,
    });
  }
  const id = options.id ?? folder.split(/[\\/]/).filter(Boolean).at(-1) ?? 'model';
  if (typeof config.arpo_position_encoding !== 'string') {
    const policy = await TransformersPolicy.load({ folder, id });
    return { policy, runtime: 'transformers' };
  }
  const model = new DecoderTransformer({
    vocabSize: Number(config.vocab_size),
    contextLength: Number(config.n_positions),
    modelDim: Number(config.n_embd),
    layers: Number(config.n_layer),
    heads: Number(config.n_head),
    mlpDim: Number(config.n_inner),
    positionEncoding: config.arpo_position_encoding as 'learned' | 'sinusoidal',
    activation: config.activation_function === 'gelu_new' ? 'gelu-tanh' : 'gelu-erf',
    tieEmbeddings: config.tie_word_embeddings !== false,
    layerNormEpsilon: Number(config.layer_norm_epsilon),
  });
  const initializers = readOnnxInitializers(
    new Uint8Array(await readFile(join(folder, 'onnx', 'model.onnx'))),
  );
  const parameters = new Map<string, TensorValue>();
  for (const spec of model.parameterSpecs()) {
    const value = initializers.get(spec.name);
    if (value !== undefined) parameters.set(spec.name, value);
  }
  const tokenizer = await loadHuggingFaceTokenizer(folder);
  const policy = await NativePolicy.create({
    model,
    parameters,
    tokenizer,
    id,
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  return { policy, runtime: 'native', parts: { model, parameters, tokenizer } };
}
