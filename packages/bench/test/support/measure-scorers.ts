// Measures scorer throughput on the shared benchmark answers against a peer measured in the same run:
// `normalizeMathAnswer` string equality (what math equivalence does first) for math, SQuAD exact match for text.
// Run: node --conditions=@arpo/source --import tsx packages/bench/test/support/measure-scorers.ts
import { exactMatch } from '@arpo/tasks';
import { loadBenchmark } from '../../src/datasets/load-benchmark.js';
import { mathEquivalent, normalizeMathAnswer } from '../../src/scorers/math-equivalence.js';
import { createDefaultScorer } from '../../src/scorers/rule-scorers.js';
import { benchmarkFile } from './shared-data.js';

function time(label: string, repeats: number, body: () => number): number {
  body();
  const started = performance.now();
  let checksum = 0;
  for (let round = 0; round < repeats; round++) checksum += body();
  const elapsed = (performance.now() - started) / repeats;
  console.log(`${label}: ${elapsed.toFixed(2)} ms per pass (checksum ${checksum})`);
  return elapsed;
}

const loadStarted = performance.now();
const math = (await loadBenchmark({ path: benchmarkFile('math500') })).items;
const gsm8k = (await loadBenchmark({ path: benchmarkFile('gsm8k') })).items;
const hotpot = (await loadBenchmark({ path: benchmarkFile('hotpotqa') })).items;
const parquet = (await loadBenchmark({ path: benchmarkFile('rl', 'train_10k.parquet') })).items;
console.log(
  `loaded math500+gsm8k+hotpotqa+train_10k.parquet (${math.length + gsm8k.length + hotpot.length + parquet.length} items) in ${(performance.now() - loadStarted).toFixed(0)} ms`,
);

// Each math500 answer against its neighbour's answer (mostly unequal: the slow path) and against itself.
const pairs = math.map((item, index) => [
  item.references[0] as string,
  math[(index + 1) % math.length]?.references[0] as string,
]);
const peer = time('math500 pairs, normalised string equality (peer)', 5, () =>
  pairs.reduce(
    (sum, [first, second]) =>
      sum + (normalizeMathAnswer(first as string) === normalizeMathAnswer(second as string) ? 1 : 0),
    0,
  ),
);
const equivalence = time('math500 pairs, mathEquivalent', 5, () =>
  pairs.reduce(
    (sum, [first, second]) => sum + (mathEquivalent(first as string, second as string) ? 1 : 0),
    0,
  ),
);
console.log(`mathEquivalent / string equality: ${(equivalence / peer).toFixed(1)}x`);

const scorer = createDefaultScorer();
const responses = [...math, ...gsm8k, ...hotpot].map((item) => ({
  item,
  response: `<answer>\\boxed{${item.references[0]}}</answer>`,
}));
const full = time(`default scorer, ${responses.length} responses (math500+gsm8k+hotpotqa)`, 3, () =>
  responses.reduce((sum, input) => sum + ((scorer.score(input) as { correct: boolean }).correct ? 1 : 0), 0),
);
const textPeer = time(`exact match only, same ${responses.length} answers (peer)`, 3, () =>
  responses.reduce(
    (sum, { item }) => sum + (exactMatch(item.references[0] as string, item.references[0] as string) ? 1 : 0),
    0,
  ),
);
console.log(
  `per response: ${((full / responses.length) * 1000).toFixed(1)} µs; ratio to exact match ${(full / textPeer).toFixed(1)}x`,
);
