// N rollout worker processes against `arpo serve` on one machine: exports a small model, starts `arpo serve`
// on it (a separate process), runs ARPO rollouts in worker processes through RemotePolicy, streams the groups
// into a results file, and stops the server (which drains).
// Usage: pnpm --filter @arpo/server example:distributed [-- --workers 4 --prompts 16]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportHuggingFaceModel, trainByteLevelBpe } from '@arpo/policy';
import { runDistributedRollouts } from '@arpo/rollout';
import { DecoderTransformer } from '@arpo/tensor';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((argument) => argument !== '--'),
  options: { workers: { type: 'string' }, prompts: { type: 'string' } },
});
const workers = Number(values.workers ?? 4);
const promptCount = Number(values.prompts ?? 16);
const directory = await mkdtemp(join(tmpdir(), 'arpo-distributed-example-'));
const folder = join(directory, 'model');
const cli = fileURLToPath(new URL('../../../apps/cli/src/cli.ts', import.meta.url));
const execArgv = ['--conditions=@arpo/source', '--import', 'tsx'];

const tokenizer = trainByteLevelBpe({
  corpus: ['what is two plus three', 'the answer is five'],
  vocabularySize: 300,
});
const model = new DecoderTransformer({
  vocabSize: tokenizer.vocabularySize,
  contextLength: 256,
  modelDim: 64,
  layers: 2,
  heads: 4,
});
await exportHuggingFaceModel({
  model,
  parameters: model.initializeParameters({ seed: 1 }),
  tokenizer,
  folder,
});

console.log('Starting arpo serve...');
const server = spawn(process.execPath, [...execArgv, cli, 'serve', '--model', folder, '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const baseUrl = await new Promise<string>((resolve, reject) => {
  let output = '';
  server.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    process.stdout.write(chunk);
    const match = /at (http:\/\/\S+\/v1)/.exec(output);
    if (match?.[1] !== undefined) resolve(match[1]);
  });
  server.once('exit', (code) => reject(new Error(`arpo serve exited with ${code}`)));
});

try {
  const prompts = Array.from({ length: promptCount }, (_, index) => ({
    promptId: `prompt-${index}`,
    promptTokenIds: tokenizer.encode(`what is ${index} plus ${index + 1}`, { addSpecialTokens: true }),
  }));
  const resultsFile = join(directory, 'groups.jsonl');
  const started = performance.now();
  const result = await runDistributedRollouts({
    prompts,
    settings: { seed: 7, maxResponseTokens: 96, maxTurnTokens: 32, maxToolCalls: 3 },
    sampler: { kind: 'arpo', arpo: { trajectories: 8, initial: 4 } },
    setup: {
      module: fileURLToPath(new URL('./worker-setup.ts', import.meta.url)),
      options: { endpoints: [baseUrl], model: 'model', folder },
    },
    workers,
    resultsFile,
    execArgv,
    onGroup: ({ group, workerIndex }) =>
      console.log(
        `  ${group.promptId}: ${group.trajectories.length} trajectories, ${group.statistics.toolCalls} tool calls (worker ${workerIndex})`,
      ),
  });
  const seconds = (performance.now() - started) / 1000;
  const trajectories = result.groups.reduce((sum, group) => sum + group.trajectories.length, 0);
  const tokens = result.groups.reduce(
    (sum, group) =>
      sum + group.trajectories.reduce((inner, trajectory) => inner + trajectory.responseTokenIds.length, 0),
    0,
  );
  console.log(
    `${result.groups.length} groups, ${trajectories} trajectories, ${tokens} response tokens from ${workers} worker processes in ${seconds.toFixed(1)} s (results: ${resultsFile}).`,
  );
} finally {
  server.kill('SIGINT');
  await new Promise((resolve) => server.once('exit', resolve));
  await rm(directory, { recursive: true, force: true });
}
