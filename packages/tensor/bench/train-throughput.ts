// Training throughput: forward + backward + AdamW tokens/s of the reference decoder transformer through
// @arpo/tensor (onnxruntime-node), against the identical model in @tensorflow/tfjs on its wasm backend and
// against a plain fp32 MatMul through onnxruntime, all measured in this run.
//
//   pnpm --filter @arpo/tensor bench            (ARPO_BENCH_THREADS=2 by default; ARPO_BENCH_SKIP_TFJS_LARGE=1)
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
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
import { createRandom } from '@arpo/core';
import { createTfjsTrainer } from './tfjs-transformer.js';

const threads = Number(process.env.ARPO_BENCH_THREADS ?? 2);

interface Scenario {
  label: string;
  config: TransformerConfig;
  batch: number;
  seq: number;
  steps: number;
  tfjsSteps: number;
}

const scenarios: Scenario[] = [
  {
    label: 'reference (2 layers, d128, 4 heads, vocab 64, batch 16 x 128)',
    config: { vocabSize: 64, contextLength: 128, modelDim: 128, layers: 2, heads: 4 },
    batch: 16,
    seq: 128,
    steps: 20,
    tfjsSteps: 3,
  },
  {
    label: 'larger (4 layers, d512, 8 heads, vocab 64, batch 8 x 256)',
    config: { vocabSize: 64, contextLength: 256, modelDim: 512, layers: 4, heads: 8 },
    batch: 8,
    seq: 256,
    steps: 5,
    tfjsSteps: 2,
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
  const matmulParameters = model.parameterCount() - (positionEncoding === 'learned' ? contextLength * modelDim : 0);
  return 6 * matmulParameters * batch * seq + 12 * layers * batch * seq * seq * modelDim;
}

async function measureOurs(scenario: Scenario) {
  const model = new DecoderTransformer(scenario.config);
  const parameters = model.initializeParameters({ seed: 1 });
  const compiled = await compileGraph(buildTrainingGraph(model), { threads });
  const { tokenIds, targets, mask } = batchData(scenario.config, scenario.batch, scenario.seq);
  const shape = [scenario.batch, scenario.seq];
  const feeds: Record<string, TensorValue> = {
    input_ids: { data: tokenIds, shape },
    target_ids: { data: targets, shape },
    loss_mask: { data: mask, shape },
  };
  for (const [name, value] of parameters) feeds[name] = value;
  const optimizer = new AdamW({ learningRate: 1e-4, weightDecay: 0.01, maxGradientNorm: 1 });
  const gradients = new Map<string, TensorValue>();
  let runMs = 0;
  let optimizerMs = 0;
  const step = async () => {
    const started = performance.now();
    const outputs = await compiled.run(feeds);
    const ran = performance.now();
    for (const name of parameters.keys()) gradients.set(name, outputs[`grad.${name}`]!);
    optimizer.apply(parameters, gradients);
    runMs += ran - started;
    optimizerMs += performance.now() - ran;
    return Number(outputs.loss!.data[0]);
  };
  await step();
  await step();
  runMs = 0;
  optimizerMs = 0;
  const started = performance.now();
  let loss = 0;
  for (let index = 0; index < scenario.steps; index++) loss = await step();
  const seconds = (performance.now() - started) / 1000;
  await compiled.dispose();
  const tokens = scenario.batch * scenario.seq * scenario.steps;
  return {
    tokensPerSecond: tokens / seconds,
    flopsPerSecond: (trainingFlops(model, scenario.batch, scenario.seq) * scenario.steps) / seconds,
    msPerStep: (seconds * 1000) / scenario.steps,
    runMsPerStep: runMs / scenario.steps,
    optimizerMsPerStep: optimizerMs / scenario.steps,
    loss,
    parameterCount: model.parameterCount(),
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
  const trainer = createTfjsTrainer(tf, config as Required<TransformerConfig>, { learningRate: 1e-4, seed: 1 });
  const { tokenIds, targets, mask } = batchData(config, scenario.batch, scenario.seq);
  await trainer.step(tokenIds, targets, mask, scenario.batch, scenario.seq);
  const started = performance.now();
  let loss = 0;
  for (let index = 0; index < scenario.tfjsSteps; index++) {
    loss = await trainer.step(tokenIds, targets, mask, scenario.batch, scenario.seq);
  }
  const seconds = (performance.now() - started) / 1000;
  tf.disposeVariables();
  return { tokensPerSecond: (scenario.batch * scenario.seq * scenario.tfjsSteps) / seconds, loss };
}

async function measureMatMulPeak(size: number): Promise<number> {
  const graph = new Graph({ name: 'matmul-peak' });
  const a = graph.input('a', 'float32', [size, size]);
  const b = graph.input('b', 'float32', [size, size]);
  const compiled = await CompiledGraph.create(graph, { outputs: { c: ops.matmul(a, b) }, threads });
  const random = createRandom({ seed: 5 });
  const data = () => Float32Array.from({ length: size * size }, () => random.next() - 0.5);
  const feeds = { a: { data: data(), shape: [size, size] }, b: { data: data(), shape: [size, size] } };
  for (let index = 0; index < 3; index++) await compiled.run(feeds);
  const iterations = Math.max(5, Math.round(4e10 / (2 * size ** 3)));
  const started = performance.now();
  for (let index = 0; index < iterations; index++) await compiled.run(feeds);
  const seconds = (performance.now() - started) / 1000;
  await compiled.dispose();
  return (2 * size ** 3 * iterations) / seconds;
}

const format = (value: number, digits = 1) => value.toFixed(digits);

console.log(`@arpo/tensor training throughput (onnxruntime-node, ${threads} intra-op threads)`);
const peaks = [512, 1024].map((size) => size);
let peak = 0;
for (const size of peaks) {
  const flops = await measureMatMulPeak(size);
  peak = Math.max(peak, flops);
  console.log(`fp32 MatMul ${size}x${size}: ${format(flops / 1e9)} GFLOP/s`);
}
const tf = await setUpTfjs();
console.log(`tfjs ${tf.version.tfjs} backend ${tf.getBackend()} (threads requested: ${threads})`);
for (const scenario of scenarios) {
  const ours = await measureOurs(scenario);
  console.log(`\n${scenario.label}: ${format(ours.parameterCount / 1e6, 2)}M parameters`);
  console.log(
    `  @arpo/tensor: ${format(ours.tokensPerSecond, 0)} tokens/s, ${format(ours.msPerStep)} ms/step ` +
      `(run ${format(ours.runMsPerStep)} ms, AdamW ${format(ours.optimizerMsPerStep)} ms), ` +
      `${format(ours.flopsPerSecond / 1e9)} GFLOP/s = ${format((100 * ours.flopsPerSecond) / peak)}% of MatMul peak`,
  );
  if (process.env.ARPO_BENCH_SKIP_TFJS_LARGE === '1' && scenario !== scenarios[0]) continue;
  const peer = await measureTfjs(tf, scenario);
  console.log(
    `  tfjs-wasm:    ${format(peer.tokensPerSecond, 0)} tokens/s; ratio ${format(ours.tokensPerSecond / peer.tokensPerSecond)}x`,
  );
}
