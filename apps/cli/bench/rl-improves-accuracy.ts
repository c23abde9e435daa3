// Benchmark: does RL improve the SFT policy's held-out accuracy? Runs the main job (`arpo demo`, same defaults)
// for several seeds and reports, per seed and as mean ± standard deviation, the held-out accuracy after SFT (the
// peer) and after RL, greedy and sampled (T=1, mean of 4), plus the paired improvement with a 95% t-interval.
// Run: pnpm --filter @arpo/cli bench:rl  (options: --seeds 1,2,3 --algo arpo|grpo|dapo --rl-steps N --out DIR)
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type MainJobSummary, runMainJob } from '../src/main-job/main-job.js';
import { type AlgorithmName, defaultRunConfig, mergeRunConfig } from '../src/run-config/run-config.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    algo: { type: 'string', default: 'arpo' },
    'rl-steps': { type: 'string' },
    out: { type: 'string', default: 'runs/bench-rl' },
  },
});
const seeds = values.seeds.split(',').map(Number);
const algorithm = values.algo as AlgorithmName;
const output = resolve(process.env.INIT_CWD ?? process.cwd(), values.out);

// Two-sided 95% Student t quantiles for n - 1 degrees of freedom (n ≤ 11).
const tQuantile = [Number.NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
const mean = (numbers: number[]) => numbers.reduce((sum, value) => sum + value, 0) / numbers.length;
const standardDeviation = (numbers: number[]) => {
  if (numbers.length < 2) return 0;
  const average = mean(numbers);
  return Math.sqrt(numbers.reduce((sum, value) => sum + (value - average) ** 2, 0) / (numbers.length - 1));
};
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

const summaries: MainJobSummary[] = [];
for (const seed of seeds) {
  const config = mergeRunConfig(defaultRunConfig, {
    seed,
    rl: { algorithm, ...(values['rl-steps'] ? { steps: Number(values['rl-steps']) } : {}) },
  });
  console.log(`\n=== seed ${seed} ===`);
  const summary = await runMainJob({
    config,
    directory: join(output, `${algorithm}-seed${seed}`),
    log: (line) => {
      if (!line.startsWith('  ')) console.log(line);
    },
  });
  summaries.push(summary);
}

type Metric = 'accuracy' | 'sampledAccuracy';
const rows: string[] = [];
const report: Record<string, unknown> = { algorithm, seeds, runs: [] as unknown[] };
rows.push(
  '| seed | greedy after SFT | greedy after RL | sampled after SFT | sampled after RL | tool calls/sample after RL | minutes |',
);
rows.push('|---|---|---|---|---|---|---|');
for (const summary of summaries) {
  rows.push(
    `| ${summary.seed} | ${percent(summary.before.accuracy)} | ${percent(summary.after.accuracy)} | ${percent(summary.before.sampledAccuracy)} | ${percent(summary.after.sampledAccuracy)} | ${summary.after.toolCallsPerSample.toFixed(2)} | ${(summary.seconds.total / 60).toFixed(1)} |`,
  );
  (report.runs as unknown[]).push({
    seed: summary.seed,
    before: { greedy: summary.before.accuracy, sampled: summary.before.sampledAccuracy },
    after: { greedy: summary.after.accuracy, sampled: summary.after.sampledAccuracy },
    seconds: summary.seconds.total,
  });
}
const lines: string[] = [];
for (const metric of ['accuracy', 'sampledAccuracy'] as Metric[]) {
  const before = summaries.map((summary) => summary.before[metric]);
  const after = summaries.map((summary) => summary.after[metric]);
  const deltas = after.map((value, index) => value - (before[index] as number));
  const half =
    (tQuantile[deltas.length - 1] ?? 1.96) * (standardDeviation(deltas) / Math.sqrt(deltas.length));
  const name = metric === 'accuracy' ? 'greedy' : 'sampled (T=1, mean of 4)';
  lines.push(
    `${name}: after SFT ${percent(mean(before))} ± ${percent(standardDeviation(before))}, after ${algorithm} ${percent(mean(after))} ± ${percent(standardDeviation(after))}; ` +
      `improvement ${percent(mean(deltas))} (95% CI ${percent(mean(deltas) - half)} to ${percent(mean(deltas) + half)}), ` +
      `ratio RL/SFT ${(mean(after) / mean(before)).toFixed(2)}x, improved in ${deltas.filter((delta) => delta > 0).length}/${deltas.length} seeds`,
  );
  report[metric] = { before, after, meanImprovement: mean(deltas), confidenceHalfWidth: half };
}
console.log(`\nHeld-out accuracy over ${seeds.length} seeds (mean ± standard deviation across seeds):\n`);
console.log(rows.join('\n'));
console.log(`\n${lines.join('\n')}`);
await writeFile(join(output, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nSaved ${join(output, 'results.json')}`);
