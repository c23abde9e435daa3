// @arpo/policy: the policy runtime. Tokenizers (byte-level BPE training, Hugging Face tokenizer.json through
// @huggingface/transformers), sampling kernels with exact logprobs and entropies, the batched generation loop,
// NativePolicy over the @arpo/tensor decoder, its Hugging Face export, and TransformersPolicy for local Hugging
// Face ONNX causal-LM folders.

export * from './export/export-hugging-face-model.js';
export * from './export/hugging-face-config.js';
export * from './export/hugging-face-decoder-graph.js';
export * from './native/check-decoder-parameters.js';
export * from './native/native-key-values.js';
export * from './native/native-policy.js';
export * from './remote/index.js';
export * from './sampling/generation-loop.js';
export * from './sampling/incremental-decoder.js';
export * from './sampling/logits-sampler.js';
export * from './sampling/sampling-settings.js';
export * from './sampling/stop-string-matcher.js';
export * from './sampling/top-selection.js';
export * from './tokenizer/byte-level.js';
export * from './tokenizer/byte-level-bpe-tokenizer.js';
export * from './tokenizer/chat-template.js';
export * from './tokenizer/hugging-face-tokenizer.js';
export * from './tokenizer/special-tokens.js';
export * from './tokenizer/train-byte-level-bpe.js';
export * from './tokenizer/unknown-special-token-error.js';
export * from './transformers/key-value-cache.js';
export * from './transformers/model-folder.js';
export * from './transformers/model-folder-error.js';
export * from './transformers/prefix-cache.js';
export * from './transformers/transformers-policy.js';
