// Measures (1) the sampling kernel against a straightforward implementation on the same logits, and (2)
// TransformersPolicy.generate() against @huggingface/transformers generate() on the same tiny ONNX model.
// Run: pnpm --filter @arpo/policy bench
import { createRandom } from '@arpo/core';
import { LogitsSampler, TransformersPolicy } from '../src/index.js';
import { createTinyModelFolder } from '../test/fixtures/tiny-model-folder.js';

function naiveSample(row: Float32Array, temperature: number, random: () => number) {
  // The usual JS way: arrays per row, softmax, entropy from probabilities, inverse-CDF draw.
  const scaled = Array.from(row, (value) => value / temperature);
  const maximum = scaled.reduce((best, value) => Math.max(best, value), Number.NEGATIVE_INFINITY);
  const exps = scaled.map((value) => Math.exp(value - maximum));
  const sum = exps.reduce((total, value) => total + value, 0);
  const probabilities = exps.map((value) => value / sum);
  const entropy = -probabilities.reduce((total, p) => (p > 0 ? total + p * Math.log(p) : total), 0);
  let target = random();
  let tokenId = probabilities.length - 1;
  for (let index = 0; index < probabilities.length; index++) {
    target -= probabilities[index] as number;
    if (target < 0) {
      tokenId = index;
      break;
    }
  }
  return { tokenId, logprob: Math.log(probabilities[tokenId] as number), entropy };
}

async function kernelBenchmark() {
  const batch = 16;
  const steps = 32;
  for (const vocabularySize of [32_000, 151_936]) {
    const random = createRandom({ seed: 1 });
    const logits = Float32Array.from({ length: batch * vocabularySize }, () => random.normal() * 3);
    const sampler = new LogitsSampler({ vocabularySize });
    const rate = (settings: { temperature: number; topK: number; topP: number; topLogprobs: number }) => {
      const start = performance.now();
      for (let step = 0; step < steps; step++) {
        for (let row = 0; row < batch; row++) sampler.sample(logits, row * vocabularySize, settings, random);
      }
      return (batch * steps) / ((performance.now() - start) / 1000);
    };
    const ours = rate({ temperature: 0.8, topK: 0, topP: 1, topLogprobs: 0 });
    const oursTopP = rate({ temperature: 0.8, topK: 0, topP: 0.95, topLogprobs: 0 });
    const oursTopK = rate({ temperature: 0.8, topK: 50, topP: 0.95, topLogprobs: 5 });
    let start = performance.now();
    start = performance.now();
    for (let step = 0; step < steps; step++) {
      for (let row = 0; row < batch; row++) {
        naiveSample(logits.subarray(row * vocabularySize, (row + 1) * vocabularySize), 0.8, () =>
          random.next(),
        );
      }
    }
    const naive = (batch * steps) / ((performance.now() - start) / 1000);
    console.log(
      `kernel vocab ${vocabularySize}, batch ${batch}: LogitsSampler ${ours.toFixed(0)} rows/s ` +
        `(top-p 0.95: ${oursTopP.toFixed(0)}, top-k 50 + top-p + 5 top logprobs: ${oursTopK.toFixed(0)}), ` +
        `naive arrays ${naive.toFixed(0)} rows/s, ratio ${(ours / naive).toFixed(2)}x`,
    );
  }
}

async function generationBenchmark() {
  const fixture = await createTinyModelFolder({ contextLength: 256, layers: 2 });
  const batch = 16;
  const newTokens = 128;
  const promptLength = 64;
  const policy = await TransformersPolicy.load({ folder: fixture.folder, prefixCacheTokens: 0 });
  const random = createRandom({ seed: 3 });
  const prompt = Int32Array.from({ length: promptLength }, () => 13 + random.integer(500));
  const eos = policy.tokenizer.specialTokens.eos;
  try {
    // Same stopping rule for both: exactly 128 tokens (EOS banned through its logit is not possible in ours, so
    // measure the policy with EOS-free counting: tokens produced / time).
    await policy.generate([{ promptTokenIds: prompt, sampling: { maxTokens: 4, seed: 1 }, n: batch }]);
    let start = performance.now();
    const [result] = await policy.generate([
      { promptTokenIds: prompt, sampling: { maxTokens: newTokens, seed: 1 }, n: batch },
    ]);
    const oursSeconds = (performance.now() - start) / 1000;
    const oursTokens = result?.usage.completionTokens ?? 0;

    const transformers = await import('@huggingface/transformers');
    const model = await transformers.AutoModelForCausalLM.from_pretrained(fixture.folder, {
      local_files_only: true,
    });
    const ids = new transformers.Tensor(
      'int64',
      BigInt64Array.from({ length: batch * promptLength }, (_, index) =>
        BigInt(prompt[index % promptLength] as number),
      ),
      [batch, promptLength],
    );
    const mask = new transformers.Tensor('int64', new BigInt64Array(batch * promptLength).fill(1n), [
      batch,
      promptLength,
    ]);
    const generateOptions = {
      input_ids: ids,
      attention_mask: mask,
      max_new_tokens: newTokens,
      do_sample: true,
      top_k: 0,
    };
    await model.generate({ ...generateOptions, max_new_tokens: 4 });
    start = performance.now();
    const output = (await model.generate(generateOptions)) as { tolist(): bigint[][] };
    const theirsSeconds = (performance.now() - start) / 1000;
    let theirsTokens = 0;
    for (const row of output.tolist()) {
      const generated = row.slice(promptLength).map(Number);
      const stop = generated.indexOf(eos);
      theirsTokens += stop < 0 ? generated.length : stop + 1;
    }
    await model.dispose();
    const ours = oursTokens / oursSeconds;
    const theirs = theirsTokens / theirsSeconds;
    console.log(
      `generate batch ${batch}, prompt ${promptLength}, ${newTokens} new tokens (tiny 2-layer model): ` +
        `TransformersPolicy ${ours.toFixed(0)} tokens/s (${oursTokens} tokens, logprobs + exact entropy), ` +
        `transformers.js generate() ${theirs.toFixed(0)} tokens/s (${theirsTokens} tokens), ratio ${(ours / theirs).toFixed(2)}x`,
    );
  } finally {
    await policy.close();
    await fixture.remove();
  }
}

await kernelBenchmark();
await generationBenchmark();
