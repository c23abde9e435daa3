import type { ToolCallProtocol } from '@arpo/core';
import { NativePolicy } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { createByteTokenizer } from '@arpo/testing';

/** A protocol with no tools: turns end only at EOS or the length limit. */
export const noToolsProtocol: ToolCallProtocol = {
  name: 'none',
  stopStrings: [],
  parse: () => [],
  formatResults: () => '',
};

/** A tiny random byte-level decoder behind NativePolicy (real onnxruntime), as in the trainer's toy setup. */
export async function createTinyPolicy() {
  const tokenizer = createByteTokenizer();
  const model = new DecoderTransformer({
    vocabSize: tokenizer.vocabularySize,
    contextLength: 96,
    modelDim: 32,
    layers: 1,
    heads: 2,
  });
  const parameters = model.initializeParameters({ seed: 1 });
  const policy = await NativePolicy.create({ model, parameters, tokenizer, seed: 1 });
  return { tokenizer, policy };
}
