// NativePolicy.generate() (batched sampling, exact logprobs + entropies) against @huggingface/transformers
// generate() on the Hugging Face export of the same model, measured in the same run.
// Run: pnpm --filter @arpo/policy bench:native   (also part of `pnpm --filter @arpo/policy bench`)
// NativePolicy runs with its defaults (2 threads, no spinning; ARPO_BENCH_THREADS / ARPO_BENCH_SPINNING=1
// override them); transformers.js with its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRandom } from '@arpo/core';
import { DecoderTransformer } from '@arpo/tensor';
import { exportHuggingFaceModel, NativePolicy } from '../src/index.js';
import { trainFixtureTokenizer } from '../test/fixtures/tiny-model-folder.js';

const batch = 16;
const promptLength = 64;
const newTokens = 128;
const repeats = 3;

const tokenizer = trainFixtureTokenizer(512);
// Sized like the reference decoder: 2 layers, d_model 128, 4 heads; vocab 512, context 256; random weights.
const model = new DecoderTransformer({
  vocabSize: tokenizer.vocabularySize,
  contextLength: 256,
  modelDim: 128,
  layers: 2,
  heads: 4,
});
const parameters = model.initializeParameters({ seed: 5 });
const folder = await mkdtemp(join(tmpdir(), 'arpo-native-bench-'));
await exportHuggingFaceModel({ model, parameters, tokenizer, folder });
const random = createRandom({ seed: 3 });
const prompt = Int32Array.from({ length: promptLength }, () => 13 + random.integer(480));

/** Best of `repeats` runs (the machine is shared; the best run is the least disturbed). */
async function bestRate(run: () => Promise<number>): Promise<{ rate: number; tokens: number }> {
  let best = { rate: 0, tokens: 0 };
  for (let index = 0; index < repeats; index++) {
    const start = performance.now();
    const tokens = await run();
    const rate = tokens / ((performance.now() - start) / 1000);
    if (rate > best.rate) best = { rate, tokens };
  }
  return best;
}

try {
  const policy = await NativePolicy.create({
    model,
    parameters,
    tokenizer,
    prefixCacheTokens: 0,
    threads: Number(process.env.ARPO_BENCH_THREADS ?? 2),
    spinning: process.env.ARPO_BENCH_SPINNING === '1',
  });
  let seed = 1;
  const nativeRun = async () => {
    const [result] = await policy.generate([
      { promptTokenIds: prompt, sampling: { maxTokens: newTokens, seed: seed++ }, n: batch },
    ]);
    return result?.usage.completionTokens ?? 0;
  };
  await policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens: 4, seed: 0 }, n: batch }]);
  const ours = await bestRate(nativeRun);
  await policy.close();

  const transformers = await import('@huggingface/transformers');
  const hfModel = await transformers.AutoModelForCausalLM.from_pretrained(folder, { local_files_only: true });
  const inputIds = new transformers.Tensor(
    'int64',
    BigInt64Array.from({ length: batch * promptLength }, (_, index) =>
      BigInt(prompt[index % promptLength] as number),
    ),
    [batch, promptLength],
  );
  const attentionMask = new transformers.Tensor('int64', new BigInt64Array(batch * promptLength).fill(1n), [
    batch,
    promptLength,
  ]);
  // min_new_tokens bans EOS, so every row computes exactly `newTokens` tokens (no padded rows to discount).
  const options = {
    input_ids: inputIds,
    attention_mask: attentionMask,
    max_new_tokens: newTokens,
    min_new_tokens: newTokens,
    do_sample: true,
    top_k: 0,
  };
  await hfModel.generate({ ...options, max_new_tokens: 4, min_new_tokens: 4 });
  const theirs = await bestRate(async () => {
    const output = (await hfModel.generate(options)) as { dims: number[] };
    return ((output.dims[1] as number) - promptLength) * batch;
  });
  await hfModel.dispose();
  console.log(
    `generate batch ${batch}, prompt ${promptLength}, ${newTokens} new tokens, 2 layers d128 4 heads vocab ` +
      `${tokenizer.vocabularySize} (best of ${repeats}): NativePolicy ${ours.rate.toFixed(0)} tokens/s ` +
      `(${ours.tokens} tokens, logprobs + exact entropy), transformers.js generate() on the export ` +
      `${theirs.rate.toFixed(0)} tokens/s (${theirs.tokens} tokens), ratio ${(ours.rate / theirs.rate).toFixed(2)}x`,
  );
} finally {
  await rm(folder, { recursive: true, force: true });
}
