// Measures the estimators and the PPO reference loss on an ARPO-sized batch and prints ratios against peers
// measured in the same run: a naive array implementation of GRPO written in this file (number[] rows, no
// library: an in-repo baseline, not an external one), and grpo itself for arpo_hard.
// Run: pnpm --filter @arpo/advantage bench

import type { AdvantageGroupInput, RolloutTree, RolloutTreeNode } from '@arpo/core';
import {
  computePpoPolicyLoss,
  estimateArpoHard,
  estimateArpoHardSpans,
  estimateGrpo,
  estimateReinforcePlusPlus,
} from '../src/index.js';

const groupCount = 64;
const trajectoriesPerGroup = 16;
const prefix = 256;
const branchSpan = 512;
const tail = 1280;
const length = prefix + branchSpan + tail;

/** An ARPO-shaped tree: a shared prefix, 8 branches shared by pairs, a private tail per trajectory. */
function arpoTree(promptId: string): RolloutTree {
  const nodes: RolloutTreeNode[] = [
    {
      id: 0,
      parentId: null,
      children: [],
      start: 0,
      end: prefix,
      trajectoryIndices: Array.from({ length: trajectoriesPerGroup }, (_, index) => index),
    },
  ];
  for (let pair = 0; pair < trajectoriesPerGroup / 2; pair++) {
    const pairId = nodes.length;
    nodes[0]!.children.push(pairId);
    nodes.push({
      id: pairId,
      parentId: 0,
      children: [],
      start: prefix,
      end: prefix + branchSpan,
      trajectoryIndices: [2 * pair, 2 * pair + 1],
    });
    for (const trajectory of [2 * pair, 2 * pair + 1]) {
      nodes[pairId]!.children.push(nodes.length);
      nodes.push({
        id: nodes.length,
        parentId: pairId,
        children: [],
        start: prefix + branchSpan,
        end: length,
        trajectoryIndices: [trajectory],
      });
    }
  }
  return { promptId, rootId: 0, nodes };
}

function makeBatch(): AdvantageGroupInput[] {
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: groupCount }, (_, group) => ({
    id: `g${group}`,
    scores: Float64Array.from({ length: trajectoriesPerGroup }, () => (next() < 0.5 ? 1 : 0)),
    lossMasks: Array.from({ length: trajectoriesPerGroup }, () =>
      // 1 policy token in 8 is a tool token.
      Uint8Array.from({ length }, (_, position) => (position % 8 === 7 ? 0 : 1)),
    ),
    tree: arpoTree(`g${group}`),
  }));
}

/** The peer, a naive array implementation (in-repo): GRPO written the obvious way over number[] rows. */
function naiveGrpo(groups: AdvantageGroupInput[]): number[][][] {
  return groups.map((group) => {
    const scores = Array.from(group.scores);
    const mean = scores.reduce((sum, score) => sum + score, 0) / scores.length;
    const std = Math.sqrt(scores.reduce((sum, score) => sum + (score - mean) ** 2, 0) / (scores.length - 1));
    return group.lossMasks.map((mask, index) =>
      Array.from(mask).map((bit) => (((scores[index] as number) - mean) / (std + 1e-6)) * bit),
    );
  });
}

const labelWidth = 56;

function time(label: string, run: () => unknown, repeats = 5): number {
  run();
  const samples: number[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    const start = performance.now();
    run();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  console.log(`${label.padEnd(labelWidth)} ${median.toFixed(1).padStart(8)} ms (median of ${repeats})`);
  return median;
}

const batch = makeBatch();
const tokens = groupCount * trajectoriesPerGroup * length;
console.log(
  `batch: ${groupCount} groups x ${trajectoriesPerGroup} trajectories x ${length} tokens = ${tokens} tokens`,
);

const naive = time('GRPO, naive array implementation (in-repo)', () => naiveGrpo(batch));
const grpo = time('grpo', () => estimateGrpo(batch));
const hard = time('arpo_hard (per trajectory)', () => estimateArpoHard(batch));
const spans = time('arpo_hard (spans, each token once)', () =>
  batch.map((group) => estimateArpoHardSpans(group)),
);
const once = time("arpo_hard (sharedTokens: 'once', rows)", () =>
  estimateArpoHard(batch, { sharedTokens: 'once' }),
);
const reinforce = time('reinforce_plus_plus', () => estimateReinforcePlusPlus(batch));

const rows = batch.flatMap((group) => group.lossMasks);
const logprobs = rows.map((mask) => Float32Array.from(mask, (_, position) => -1 - (position % 5) * 0.01));
const oldLogprobs = rows.map((mask) => Float32Array.from(mask, (_, position) => -1 - (position % 7) * 0.01));
const advantages = estimateGrpo(batch).flatMap((output) => output.advantages);
const ppo = time('computePpoPolicyLoss (token-mean)', () =>
  computePpoPolicyLoss(
    { logprobs, oldLogprobs, advantages, masks: rows },
    { clipLow: 0.2, clipHigh: 0.28, dualClip: 3 },
  ),
);

const emitted = estimateArpoHardSpans(batch[0]!).spans.reduce((sum, span) => sum + span.advantages.length, 0);
console.log('');
const ratio = (label: string, value: number) =>
  console.log(`${label.padEnd(labelWidth)} ${value.toFixed(2)}x`);
ratio('grpo speed-up over naive array implementation (in-repo)', naive / grpo);
ratio('arpo_hard cost relative to grpo', hard / grpo);
ratio('arpo_hard spans relative to grpo', spans / grpo);
ratio("arpo_hard 'once' rows relative to grpo", once / grpo);
ratio('reinforce_plus_plus relative to grpo', reinforce / grpo);
console.log(`${'PPO loss throughput'.padEnd(labelWidth)} ${(tokens / ppo / 1000).toFixed(1)} M tokens/s`);
console.log(
  `span form emits ${emitted} of ${trajectoriesPerGroup * length} tokens per group (${((100 * emitted) / (trajectoriesPerGroup * length)).toFixed(1)}%)`,
);
