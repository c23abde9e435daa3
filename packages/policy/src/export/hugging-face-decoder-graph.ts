import { type DecoderTransformer, Graph, ops, type SymbolicTensor } from '@arpo/tensor';

/** Dim names of the exported graph (as in Hugging Face's own ONNX exports). */
const batch = 'batch_size';
const sequence = 'sequence_length';
const past = 'past_sequence_length';
// The decoder names the key axis "past + seq" itself; the mask must use the same name for shapes to agree.
const total = `${past}+${sequence}`;

/**
 * The decoder graph under the Hugging Face causal-LM interface: inputs `input_ids`, `attention_mask`,
 * `position_ids` (int64, as `@huggingface/transformers` feeds them; cast to int32 inside) and
 * `past_key_values.{i}.key|value` [batch, heads, past, headDim]; outputs `logits` and `present.{i}.key|value`.
 * The parameters are declared as graph parameters (bake them with `serializeGraph`'s `initializers`).
 */
export function buildHuggingFaceDecoderGraph(model: DecoderTransformer): {
  graph: Graph;
  outputs: Record<string, SymbolicTensor>;
} {
  const { heads, layers, dtype } = model.config;
  const graph = new Graph({ name: 'arpo_decoder' });
  const parameters = model.declareParameters(graph);
  const inputIds = graph.input('input_ids', 'int64', [batch, sequence]);
  const attentionMask = graph.input('attention_mask', 'int64', [batch, total]);
  const positionIds = graph.input('position_ids', 'int64', [batch, sequence]);
  const pastKeyValues = Array.from({ length: layers }, (_, layer) => ({
    key: graph.input(`past_key_values.${layer}.key`, dtype, [batch, heads, past, model.headDim]),
    value: graph.input(`past_key_values.${layer}.value`, dtype, [batch, heads, past, model.headDim]),
  }));
  const { logits, present } = model.forward(parameters, {
    tokenIds: ops.cast(inputIds, 'int32'),
    positionIds: ops.cast(positionIds, 'int32'),
    attentionMask: ops.cast(attentionMask, 'int32'),
    past: pastKeyValues,
  });
  const outputs: Record<string, SymbolicTensor> = { logits };
  present.forEach((cache, layer) => {
    outputs[`present.${layer}.key`] = cache.key;
    outputs[`present.${layer}.value`] = cache.value;
  });
  return { graph, outputs };
}
