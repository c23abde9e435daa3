// Loopback load test of the OpenAI-compatible server: 64 concurrent clients for 60 s (bounded; stops by itself)
// against the batching server, then the same load against a peer measured in the same run: the same server and
// model with batching off (maxBatch 1: requests served one at a time). Prints p50/p99 latency, tokens/s, errors.
// Usage: pnpm --filter @arpo/server bench:load [-- --seconds 60 --clients 64]
import { parseArgs } from 'node:util';
import { NativePolicy } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { createByteTokenizer } from '@arpo/testing';
import { createOpenAiServer } from '../src/index.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((argument) => argument !== '--'),
  options: { seconds: { type: 'string' }, clients: { type: 'string' }, 'max-tokens': { type: 'string' } },
});
const seconds = Number(values.seconds ?? 60);
const clients = Number(values.clients ?? 64);
const maxTokens = Number(values['max-tokens'] ?? 32);

async function createPolicy() {
  const tokenizer = createByteTokenizer();
  // The main job's model shape: 2 layers, d_model 128, context 256.
  const model = new DecoderTransformer({
    vocabSize: tokenizer.vocabularySize,
    contextLength: 256,
    modelDim: 128,
    layers: 2,
    heads: 4,
  });
  const parameters = model.initializeParameters({ seed: 1 });
  return NativePolicy.create({ model, parameters, tokenizer, seed: 1, id: 'bench' });
}

function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] as number;
}

async function measure(label: string, maxBatch: number) {
  const policy = await createPolicy();
  const server = await createOpenAiServer({ policy, modelId: 'bench', maxBatch, maxQueue: 256 });
  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  let sent = 0;
  let answered = 0;
  let tokens = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const client = async (index: number) => {
    let request = 0;
    while (performance.now() < deadline) {
      const body = JSON.stringify({
        model: 'bench',
        prompt: `Client ${index} asks question ${request}: what is ${index} + ${request}?`,
        max_tokens: maxTokens,
        seed: index * 100_000 + request,
        logprobs: 1,
      });
      request++;
      sent++;
      const begin = performance.now();
      let status: string;
      try {
        const response = await fetch(`${server.baseUrl}/completions`, { method: 'POST', body });
        const json = (await response.json()) as { usage?: { completion_tokens?: number } };
        status = String(response.status);
        if (response.ok) {
          latencies.push(performance.now() - begin);
          tokens += json.usage?.completion_tokens ?? 0;
        } else if (response.status === 429 || response.status === 503) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } catch (error) {
        status = `network: ${(error as Error).message}`;
      }
      answered++;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, index) => client(index)));
  const elapsed = (performance.now() - started) / 1000;
  const statistics = server.statistics();
  await server.close();
  await policy.close();
  latencies.sort((first, second) => first - second);
  const unexpected = [...statuses].filter(([status]) => !['200', '429', '503'].includes(status));
  const result = {
    label,
    requests: sent,
    ok: statuses.get('200') ?? 0,
    deliberate429or503: (statuses.get('429') ?? 0) + (statuses.get('503') ?? 0),
    unexpectedErrors: unexpected.reduce((sum, [, count]) => sum + count, 0),
    lost: sent - answered,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    tokensPerSecond: tokens / elapsed,
    requestsPerSecond: (statuses.get('200') ?? 0) / elapsed,
    meanBatch: statistics.sequences / Math.max(1, statistics.batches),
  };
  console.log(
    `${label.padEnd(26)} requests ${result.requests}, ok ${result.ok}, 429/503 ${result.deliberate429or503}, ` +
      `other errors ${result.unexpectedErrors}, lost ${result.lost}; p50 ${result.p50Ms.toFixed(0)} ms, ` +
      `p99 ${result.p99Ms.toFixed(0)} ms; ${result.tokensPerSecond.toFixed(0)} tokens/s, ` +
      `${result.requestsPerSecond.toFixed(1)} requests/s; mean batch ${result.meanBatch.toFixed(1)} sequences`,
  );
  if (unexpected.length > 0) console.log('  unexpected:', Object.fromEntries(unexpected));
  return result;
}

console.log(
  `Load test: ${clients} concurrent clients, ${seconds} s per server, ${maxTokens} new tokens per request, loopback.`,
);
const batched = await measure('batched (maxBatch 64)', 64);
const peer = await measure('one at a time (maxBatch 1)', 1);
console.log(
  `Batched vs one at a time: ${(batched.tokensPerSecond / peer.tokensPerSecond).toFixed(2)}x tokens/s, ` +
    `p50 latency ${(peer.p50Ms / batched.p50Ms).toFixed(2)}x lower.`,
);
if (batched.unexpectedErrors + batched.lost + peer.unexpectedErrors + peer.lost > 0) process.exitCode = 1;
