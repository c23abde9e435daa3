// Training throughput: forward + backward + AdamW tokens/s of the reference decoder transformer through
// @arpo/tensor (onnxruntime-node), against the identical model in @tensorflow/tfjs on its wasm backend and
// against a plain fp32 MatMul through onnxruntime, all measured in this run.
//
//   pnpm --filter @arpo/tensor bench   (ARPO_BENCH_THREADS=2 by default; ARPO_BENCH_SPINNING=0 for a shared machine;
//   ARPO_BENCH_SKIP_TFJS_LARGE=1 skips the slow tfjs run of the larger model)
//
// It ends with PASS/FAIL against the two targets: >= 10x tfjs-wasm tokens/s on the reference config, and
// >= 40% of the fp32 MatMul peak on the larger one. tfjs-wasm runs on one thread (its threaded build does not
// start under Node: bench/tfjs-wasm-threads.ts), so the reference is also measured with onnxruntime on one
// intra-op thread and that equal-threads ratio is printed alongside.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { createRandom } from '@arpo/core';
import {
  AdamW,
  buildTrainingGraph,
  CompiledGraph,
  compileGraph,
  DecoderTransformer,
  Graph,
  ops,
  type TensorValue,
  type TransformerConfig,
} from '@arpo/tensor';
import { createTfjsTrainer } from './tfjs-transformer.js';

const threads = Number(process.env.ARPO_BENCH_THREADS ?? 2);
// Spinning worker threads are fastest on an idle machine and slowest when other processes share the cores.
const spinning = process.env.ARPO_BENCH_SPINNING !== '0';

interface Scenario {
  label: string;
  config: TransformerConfig;
  batch: number;
  seq: number;
  steps: number;
  /** Timed tfjs steps after one warm-up step. */
  tfjsSteps: number;
  /** tfjs-wasm is ~50x slower; the larger model runs it on fewer sequences (throughput per token). */
  tfjsBatch: number;
}

const scenarios: Scenario[] = [
  {
    label: 'reference (2 layers, d128, 4 heads, vocab 64, batch 16 x 128)',
    config: { vocabSize: 64, contextLength: 128, modelDim: 128, layers: 2, heads: 4 },
    batch: 16,
    seq: 128,
    steps: 20,
    // At least 5 timed steps, so the ratio the target is judged on does not hinge on one noisy step.
    tfjsSteps: 6,
    tfjsBatch: 16,
  },
  {
    label: 'larger (4 layers, d512, 8 heads, vocab 64, batch 8 x 256)',
    config: { vocabSize: 64, contextLength: 256, modelDim: 512, layers: 4, heads: 8 },
    batch: 8,
    seq: 256,
    steps: 6,
    // One ~45 s step: this ratio is informative, the larger model's target is the MatMul-peak fraction.
    tfjsSteps: 1,
    tfjsBatch: 2,
  },
];

function batchData(config: TransformerConfig, batch: number, seq: number) {
  const random = createRandom({ seed: 3 });
  const tokenIds = new Int32Array(batch * seq);
  const targets = new Int32Array(batch * seq);
  for (let index = 0; index < tokenIds.length; index++) {
    tokenIds[index] = random.integer(config.vocabSize);
    targets[index] = random.integer(config.vocabSize);
  }
  return { tokenIds, targets, mask: new Float32Array(batch * seq).fill(1) };
}

/** 6 · (matmul parameters) · tokens + 12 · layers · batch · seq² · d (scores and weighted values, fwd + bwd). */
function trainingFlops(model: DecoderTransformer, batch: number, seq: number): number {
  const { contextLength, modelDim, layers, positionEncoding } = model.config;
  const matmulParameters =
    model.parameterCount() - (positionEncoding === 'learned' ? contextLength * modelDim : 0);
  return 6 * matmulParameters * batch * seq + 12 * layers * batch * seq * seq * modelDim;
}

/** Our training steps; with a probe, a MatMul peak sample is taken after every step (outside the step time). */
async function measureOurs(scenario: Scenario, options: { threads: number; peakProbe?: MatMulProbe }) {
  const model = new DecoderTransformer(scenario.config);
  const parameters = model.initializeParameters({ seed: 1 });
  const compiled = await compileGraph(buildTrainingGraph(model), { threads: options.threads, spinning });
  const { tokenIds, targets, mask } = batchData(scenario.config, scenario.batch, scenario.seq);
  const shape = [scenario.batch, scenario.seq];
  const feeds: Record<string, TensorValue> = {
    input_ids: { data: tokenIds, shape },
    target_ids: { data: targets, shape },
    loss_mask: { data: mask, shape },
  };
  for (const [name, value] of parameters) feeds[name] = value;
  const optimizer = new AdamW({ learningRate: 1e-4, weightDecay: 0.01, maxGradientNorm: 1 });
  // Gradient outputs are written into these arrays at every step instead of fresh allocations.
  const gradients = new Map<string, TensorValue>();
  const preallocated: Record<string, TensorValue> = {};
  for (const [name, value] of parameters) {
    const gradient = { data: new Float32Array(value.data.length), shape: value.shape };
    gradients.set(name, gradient);
    preallocated[`grad.${name}`] = gradient;
  }
  let runMs = 0;
  let optimizerMs = 0;
  const step = async () => {
    const started = performance.now();
    const outputs = await compiled.run(feeds, { outputs: preallocated });
    const ran = performance.now();
    optimizer.apply(parameters, gradients);
    runMs += ran - started;
    optimizerMs += performance.now() - ran;
    return Number(outputs.loss!.data[0]);
  };
  await step();
  await step();
  runMs = 0;
  optimizerMs = 0;
  // Peak samples are taken between steps, so the MatMul peak and the training steps see the same machine
  // load (other processes may share the cores); the step time excludes them.
  let seconds = 0;
  let loss = 0;
  const peakSamples: number[] = [];
  for (let index = 0; index < scenario.steps; index++) {
    const started = performance.now();
    loss = await step();
    seconds += (performance.now() - started) / 1000;
    if (options.peakProbe) peakSamples.push(await options.peakProbe.sample());
  }
  await compiled.dispose();
  peakSamples.sort((a, b) => a - b);
  const tokens = scenario.batch * scenario.seq * scenario.steps;
  return {
    tokensPerSecond: tokens / seconds,
    flopsPerSecond: (trainingFlops(model, scenario.batch, scenario.seq) * scenario.steps) / seconds,
    msPerStep: (seconds * 1000) / scenario.steps,
    runMsPerStep: runMs / scenario.steps,
    optimizerMsPerStep: optimizerMs / scenario.steps,
    loss,
    parameterCount: model.parameterCount(),
    peak: peakSamples[Math.floor(peakSamples.length / 2)] ?? Number.NaN,
    bestPeak: peakSamples.at(-1) ?? Number.NaN,
  };
}

async function setUpTfjs() {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const wasmDirectory = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(`${wasmDirectory}/`);
  wasm.setThreadsCount(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  return tf;
}

async function measureTfjs(tf: Awaited<ReturnType<typeof setUpTfjs>>, scenario: Scenario) {
  const config = scenario.config;
  const trainer = createTfjsTrainer(tf, config as Required<TransformerConfig>, {
    learningRate: 1e-4,
    seed: 1,
  });
  const batch = scenario.tfjsBatch;
  const { tokenIds, targets, mask } = batchData(config, batch, scenario.seq);
  await trainer.step(tokenIds, targets, mask, batch, scenario.seq);
  const started = performance.now();
  let loss = 0;
  for (let index = 0; index < scenario.tfjsSteps; index++) {
    loss = await trainer.step(tokenIds, targets, mask, batch, scenario.seq);
  }
  const seconds = (performance.now() - started) / 1000;
  tf.disposeVariables();
  return { tokensPerSecond: (batch * scenario.seq * scenario.tfjsSteps) / seconds, loss };
}

interface MatMulProbe {
  /** FLOP/s of a burst of `size`×`size` fp32 MatMuls through onnxruntime (about 0.2 s). */
  sample(): Promise<number>;
  dispose(): Promise<void>;
}

async function createMatMulProbe(size: number): Promise<MatMulProbe> {
  const graph = new Graph({ name: 'matmul-peak' });
  const a = graph.input('a', 'float32', [size, size]);
  const b = graph.input('b', 'float32', [size, size]);
  const compiled = await CompiledGraph.create(graph, { outputs: { c: ops.matmul(a, b) }, threads, spinning });
  const random = createRandom({ seed: 5 });
  const data = () => Float32Array.from({ length: size * size }, () => random.next() - 0.5);
  const feeds = { a: { data: data(), shape: [size, size] }, b: { data: data(), shape: [size, size] } };
  const output = { c: { data: new Float32Array(size * size), shape: [size, size] } };
  for (let index = 0; index < 3; index++) await compiled.run(feeds, { outputs: output });
  const iterations = Math.max(3, Math.round(2e10 / (2 * size ** 3)));
  return {
    async sample() {
      const started = performance.now();
      for (let index = 0; index < iterations; index++) await compiled.run(feeds, { outputs: output });
      return (2 * size ** 3 * iterations) / ((performance.now() - started) / 1000);
    },
    dispose: () => compiled.dispose(),
  };
}

const format = (value: number, digits = 1) => value.toFixed(digits);
const verdict = (passed: boolean) => (passed ? 'PASS' : 'FAIL');

console.log(
  `@arpo/tensor training throughput (onnxruntime-node, ${threads} intra-op threads, spinning ${spinning ? 'on' : 'off'})`,
);
let bestPeak = 0;
for (const size of [512, 1024]) {
  const probe = await createMatMulProbe(size);
  const samples = [await probe.sample(), await probe.sample(), await probe.sample()];
  await probe.dispose();
  bestPeak = Math.max(bestPeak, ...samples);
  console.log(`fp32 MatMul ${size}x${size} (standalone): ${format(Math.max(...samples) / 1e9)} GFLOP/s`);
}
const peakProbe = await createMatMulProbe(1024);
const tf = await setUpTfjs();
const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
console.log(
  `tfjs ${tf.version.tfjs} backend ${tf.getBackend()}, ${wasmBackend.getThreadsCount()} thread(s) ` +
    `(WASM_HAS_MULTITHREAD_SUPPORT ${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')})`,
);
const reference = scenarios[0]!;
const larger = scenarios[1]!;
let referenceRatio = Number.NaN;
let referenceTfjs = Number.NaN;
let largerFraction = Number.NaN;
let largerFractionOfBest = Number.NaN;
let largerPeak = Number.NaN;
for (const scenario of scenarios) {
  const ours = await measureOurs(scenario, { threads, peakProbe });
  console.log(`\n${scenario.label}: ${format(ours.parameterCount / 1e6, 2)}M parameters`);
  console.log(
    `  @arpo/tensor: ${format(ours.tokensPerSecond, 0)} tokens/s, ${format(ours.msPerStep)} ms/step ` +
      `(run ${format(ours.runMsPerStep)} ms, AdamW ${format(ours.optimizerMsPerStep)} ms), ` +
      `${format(ours.flopsPerSecond / 1e9)} GFLOP/s`,
  );
  bestPeak = Math.max(bestPeak, ours.bestPeak);
  console.log(
    `  fraction of MatMul peak: ${format((100 * ours.flopsPerSecond) / ours.peak)}% of the median peak sampled ` +
      `between steps (${format(ours.peak / 1e9)} GFLOP/s); ${format((100 * ours.flopsPerSecond) / bestPeak)}% of ` +
      `the best peak seen in this run (${format(bestPeak / 1e9)} GFLOP/s)`,
  );
  if (scenario === larger) {
    largerFraction = ours.flopsPerSecond / ours.peak;
    largerFractionOfBest = ours.flopsPerSecond / bestPeak;
    largerPeak = ours.peak;
  }
  if (process.env.ARPO_BENCH_SKIP_TFJS_LARGE === '1' && scenario !== reference) continue;
  const peer = await measureTfjs(tf, scenario);
  console.log(
    `  tfjs-wasm (batch ${scenario.tfjsBatch}, ${scenario.tfjsSteps} timed steps): ` +
      `${format(peer.tokensPerSecond, 0)} tokens/s; @arpo/tensor / tfjs-wasm = ` +
      `${format(ours.tokensPerSecond / peer.tokensPerSecond)}x`,
  );
  if (scenario === reference) {
    referenceRatio = ours.tokensPerSecond / peer.tokensPerSecond;
    referenceTfjs = peer.tokensPerSecond;
  }
}
await peakProbe.dispose();

// tfjs-wasm had one thread; the same comparison with onnxruntime held to one intra-op thread.
const single = await measureOurs(reference, { threads: 1 });
const equalThreadsRatio = single.tokensPerSecond / referenceTfjs;
console.log(
  `\nreference, 1 intra-op thread: @arpo/tensor ${format(single.tokensPerSecond, 0)} tokens/s, ` +
    `${format(single.msPerStep)} ms/step; / tfjs-wasm (1 thread) = ${format(equalThreadsRatio)}x`,
);

console.log('\ntargets:');
console.log(
  `  reference >= 10x tfjs-wasm tokens/s: ${format(referenceRatio)}x with ${threads} intra-op threads ` +
    `vs tfjs-wasm's 1 -> ${verdict(referenceRatio >= 10)}; equal threads (1 vs 1): ` +
    `${format(equalThreadsRatio)}x -> ${verdict(equalThreadsRatio >= 10)}`,
);
console.log(
  `  larger >= 40% of MatMul peak: ${format(100 * largerFraction)}% of the median fp32 1024x1024 MatMul ` +
    `peak (onnxruntime, ${threads} threads) sampled between its training steps (${format(largerPeak / 1e9)} ` +
    `GFLOP/s) -> ${verdict(largerFraction >= 0.4)}; against the best peak seen anywhere in this run ` +
    `(${format(bestPeak / 1e9)} GFLOP/s): ${format(100 * largerFractionOfBest)}% -> ` +
    `${verdict(largerFractionOfBest >= 0.4)}`,
);
