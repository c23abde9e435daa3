import { NativePolicy } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { createByteTokenizer } from '@arpo/testing';

/** A tiny untrained byte-level NativePolicy (1 layer, d_model 32): fast, real onnxruntime decoding. */
export async function createTinyPolicy(options: { contextLength?: number; id?: string } = {}) {
  const tokenizer = createByteTokenizer();
  const model = new DecoderTransformer({
    vocabSize: tokenizer.vocabularySize,
    contextLength: options.contextLength ?? 128,
    modelDim: 32,
    layers: 1,
    heads: 2,
  });
  const parameters = model.initializeParameters({ seed: 7 });
  const policy = await NativePolicy.create({
    model,
    parameters,
    tokenizer,
    seed: 1,
    threads: 1,
    id: options.id ?? 'tiny',
  });
  return { tokenizer, model, parameters, policy };
}
