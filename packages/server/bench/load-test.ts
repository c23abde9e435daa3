// Loopback load test of `arpo serve` run as a child process (the real CLI on an exported model, so clients and
// server do not share an event loop): 64 concurrent clients for 60 s (bounded; stops by itself) against the
// batching server, then the same load against a peer measured in the same run, the same server with batching off
// (`--max-batch 1`), then a back-pressure phase with a small queue (`--max-queue 8`) where 429s are expected.
// Every response is validated, and the client's counts are checked against the server's own counters
// (`GET /statistics` and the "Served N generation requests" line the CLI prints when it drains on SIGINT).
// Usage: pnpm --filter @arpo/server bench:load [-- --seconds 60 --clients 64 --max-tokens 32]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportHuggingFaceModel, trainByteLevelBpe } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import type { OpenAiServerStatistics } from '../src/index.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((argument) => argument !== '--'),
  options: {
    seconds: { type: 'string' },
    clients: { type: 'string' },
    'max-tokens': { type: 'string' },
    'pressure-seconds': { type: 'string' },
  },
});
const seconds = Number(values.seconds ?? 60);
const clients = Number(values.clients ?? 64);
const maxTokens = Number(values['max-tokens'] ?? 32);
const pressureSeconds = Number(values['pressure-seconds'] ?? Math.max(5, Math.round(seconds / 4)));
const cli = fileURLToPath(new URL('../../../apps/cli/src/cli.ts', import.meta.url));

/** Exports the main job's model shape (2 layers, d_model 128, context 256; random weights) as a model folder. */
async function exportModel(directory: string): Promise<string> {
  const corpus = Array.from(
    { length: 50 },
    (_, index) => `Client ${index} asks question ${index * 7}: what is ${index} + ${index * 3}?`,
  );
  const tokenizer = trainByteLevelBpe({ corpus, vocabularySize: 320 });
  const model = new DecoderTransformer({
    vocabSize: tokenizer.vocabularySize,
    contextLength: 256,
    modelDim: 128,
    layers: 2,
    heads: 4,
  });
  const folder = join(directory, 'bench');
  await exportHuggingFaceModel({
    model,
    parameters: model.initializeParameters({ seed: 1 }),
    tokenizer,
    folder,
  });
  return folder;
}

interface ServeProcess {
  child: ChildProcess;
  baseUrl: string;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `arpo serve` (from sources, through tsx) and waits for its "Serving ... at URL" line. */
async function startServe(folder: string, flags: string[]): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@arpo/source',
      '--import',
      'tsx',
      cli,
      'serve',
      '--model',
      folder,
      '--port',
      '0',
      ...flags,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INIT_CWD: process.cwd() } },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = performance.now();
  for (;;) {
    const match = /at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(output);
    if (match?.[1] !== undefined) {
      const baseUrl = match[1];
      return { child, baseUrl, url: baseUrl.replace(/\/v1$/, ''), output: () => output, exited };
    }
    if (child.exitCode !== null || performance.now() - started > 120_000) {
      child.kill('SIGKILL');
      throw new Error(`arpo serve did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] as number;
}

interface Completion {
  choices?: { text?: unknown; finish_reason?: unknown; logprobs?: { tokens?: unknown[] } | null }[];
  usage?: { completion_tokens?: unknown };
}

/** Why a 200 answer is not a valid completion of this request, or undefined when it is one. */
function invalidity(json: Completion): string | undefined {
  if (!Array.isArray(json.choices) || json.choices.length !== 1)
    return `choices: expected 1, got ${json.choices?.length}`;
  const choice = json.choices[0] as NonNullable<Completion['choices']>[number];
  const tokens = json.usage?.completion_tokens;
  if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 1 || tokens > maxTokens)
    return `usage.completion_tokens ${String(tokens)} outside 1..${maxTokens}`;
  if (choice.logprobs?.tokens?.length !== tokens)
    return `logprobs.tokens has ${choice.logprobs?.tokens?.length} entries, usage says ${tokens}`;
  if (choice.finish_reason === 'length' && tokens !== maxTokens)
    return `finish_reason length after ${tokens} of ${maxTokens} tokens`;
  if (choice.finish_reason !== 'length' && choice.finish_reason !== 'stop')
    return `finish_reason ${String(choice.finish_reason)}`;
  if (typeof choice.text !== 'string') return 'text is not a string';
  return undefined;
}

async function serverStatistics(url: string): Promise<OpenAiServerStatistics> {
  return (await (await fetch(`${url}/statistics`)).json()) as OpenAiServerStatistics;
}

async function measure(options: { label: string; folder: string; flags: string[]; seconds: number }) {
  const serve = await startServe(options.folder, options.flags);
  // A hard stop: whatever happens, the phase ends within its time plus two minutes.
  const watchdog = setTimeout(
    () => {
      console.error(`${options.label}: watchdog fired, killing arpo serve`);
      serve.child.kill('SIGKILL');
      process.exit(1);
    },
    (options.seconds + 120) * 1000,
  );
  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  const invalid = new Map<string, number>();
  let sent = 0;
  let answered = 0;
  let tokens = 0;
  const deadline = performance.now() + options.seconds * 1000;
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
        const response = await fetch(`${serve.baseUrl}/completions`, { method: 'POST', body });
        const json = (await response.json()) as Completion;
        status = String(response.status);
        answered++;
        if (response.ok) {
          const problem = invalidity(json);
          if (problem === undefined) {
            latencies.push(performance.now() - begin);
            tokens += json.usage?.completion_tokens as number;
          } else {
            invalid.set(problem, (invalid.get(problem) ?? 0) + 1);
          }
        } else if (response.status === 429 || response.status === 503) {
          const retryAfter = Number(response.headers.get('retry-after') ?? 0);
          // Honour a short Retry-After in part, as RemotePolicy's backoff would; keep the pressure on.
          await new Promise((resolve) => setTimeout(resolve, Math.min(100, retryAfter * 1000)));
        }
      } catch (error) {
        status = `network: ${(error as Error).message}`;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, index) => client(index)));
  const elapsed = (performance.now() - started) / 1000;
  const server = await serverStatistics(serve.url);
  serve.child.kill('SIGINT');
  const code = await serve.exited;
  clearTimeout(watchdog);
  const served = Number(/Served (\d+) generation requests/.exec(serve.output())?.[1] ?? Number.NaN);
  latencies.sort((first, second) => first - second);
  const count = (status: string) => statuses.get(status) ?? 0;
  const ok = count('200');
  const unexpected = [...statuses].filter(([status]) => !['200', '429', '503'].includes(status));
  const serverTotal = Object.values(server.responses).reduce((sum, value) => sum + value, 0);
  // The server counted every response it sent (the /statistics call itself is counted once it is sent, so not
  // in this snapshot), and every answer the client got is one of them.
  const checks = {
    'server received what clients sent': server.httpRequests - 1 === sent,
    'server answered every request (lost = 0)': serverTotal === sent,
    'clients got every answer': answered === sent,
    'server 200s = client 200s': (server.responses['200'] ?? 0) === ok,
    'server 429s = client 429s': (server.responses['429'] ?? 0) === count('429'),
    'server 503s = client 503s': (server.responses['503'] ?? 0) === count('503'),
    'every 200 is a valid completion': invalid.size === 0,
    'no other status or network error': unexpected.length === 0,
    'drained on SIGINT (exit 0, served = 200s)': code === 0 && served === ok,
  };
  const result = {
    label: options.label,
    sent,
    ok,
    rejected429: count('429'),
    rejected503: count('503'),
    lost: sent - serverTotal,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    tokensPerSecond: tokens / elapsed,
    meanBatch: server.sequences / Math.max(1, server.batches),
    passed: Object.values(checks).every(Boolean),
  };
  console.log(
    `${options.label.padEnd(30)} sent ${sent}, 200 ${ok}, 429 ${result.rejected429}, 503 ${result.rejected503}, ` +
      `lost ${result.lost}; p50 ${result.p50Ms.toFixed(0)} ms, p99 ${result.p99Ms.toFixed(0)} ms; ` +
      `${result.tokensPerSecond.toFixed(0)} tokens/s; mean batch ${result.meanBatch.toFixed(1)} sequences; ` +
      `server counted ${JSON.stringify(server.responses)}`,
  );
  for (const [check, passed] of Object.entries(checks)) if (!passed) console.log(`  FAILED: ${check}`);
  if (unexpected.length > 0) console.log('  unexpected:', Object.fromEntries(unexpected));
  if (invalid.size > 0) console.log('  invalid completions:', Object.fromEntries(invalid));
  return result;
}

const directory = await mkdtemp(join(tmpdir(), 'arpo-load-test-'));
try {
  const folder = await exportModel(directory);
  console.log(
    `Load test: ${clients} concurrent clients, ${seconds} s per server (${pressureSeconds} s back-pressure), ` +
      `${maxTokens} new tokens per request, arpo serve as a child process on loopback.`,
  );
  const common = ['--model-id', 'bench'];
  const batched = await measure({
    label: 'batched (--max-batch 64)',
    folder,
    flags: [...common, '--max-batch', '64', '--max-queue', '256'],
    seconds,
  });
  const peer = await measure({
    label: 'one at a time (--max-batch 1)',
    folder,
    flags: [...common, '--max-batch', '1', '--max-queue', '256'],
    seconds,
  });
  const pressure = await measure({
    label: 'back-pressure (--max-queue 8)',
    folder,
    flags: [...common, '--max-batch', '8', '--max-queue', '8'],
    seconds: pressureSeconds,
  });
  console.log(
    `Batched vs one at a time: ${(batched.tokensPerSecond / peer.tokensPerSecond).toFixed(2)}x tokens/s, ` +
      `p50 latency ${(peer.p50Ms / batched.p50Ms).toFixed(2)}x lower.`,
  );
  if (pressure.rejected429 === 0) console.log('  FAILED: the back-pressure phase produced no 429');
  if (!batched.passed || !peer.passed || !pressure.passed || pressure.rejected429 === 0) process.exitCode = 1;
} finally {
  await rm(directory, { recursive: true, force: true });
}
