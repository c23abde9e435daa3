// A hand-made comparison report with everything the renderers must cope with: several seeds with a missing
// tail, a non-finite loss, intervals, a forked ARPO tree and an independent one, an algorithm without trees,
// and text that would break a page if it were not escaped.
import { createRandom } from '@arpo/core';
import type { RolloutTreeJson } from '@arpo/rollout';
import type { ComparisonReportData, TrainingStepRecord } from '../../src/index.js';

/** Strings that must show up literally in the page and never become markup. */
export const hostileText = {
  title: 'Toy <b>comparison</b> & "quotes" </title><script>window.__injected = "title"</script>',
  leaf: '<answer>\\boxed{391}</answer> <img src=x onerror="window.__injected = \'img\'">',
  script: '<answer>I think 400</answer> </script><script>window.__injected = "script"</script>',
  prompt: 'What is 17 * 23? Answer in <answer></answer>. </script><!-- ',
  command: 'arpo compare --algos grpo,dapo,arpo --seeds 3 --note "</pre><h1>x</h1>"',
};

const spans = {
  call: '<python>print(17 * 23)</python>',
  result: '<result>391</result>',
  answer: '<answer>391</answer>',
  wrongCall: '<python>print(17 * 24)</python><result>408</result>',
  wrongAnswer: '<answer>408</answer>',
  lateAnswer: '<answer>391 & done</answer>',
};

/** An ARPO tree: a fork after the first tool result, a second fork below it, and a fresh (refill) trajectory. */
export function forkedTree(promptId: string): RolloutTreeJson {
  const first = spans.call + spans.result;
  return {
    promptId,
    prompt: hostileText.prompt,
    nodes: [
      {
        id: 0,
        parentId: null,
        children: [1, 6],
        start: 0,
        end: 0,
        trajectoryIndices: [0, 1, 2, 3, 4],
        toolShare: 0,
      },
      {
        id: 1,
        parentId: 0,
        children: [2, 3, 4],
        start: 0,
        end: 50,
        trajectoryIndices: [0, 1, 2, 4],
        text: first,
        toolShare: 0.4,
        fork: { entropy: 1.84, entropyDelta: 0.42, probability: 0.58, branches: 2 },
      },
      {
        id: 2,
        parentId: 1,
        children: [],
        start: 50,
        end: 70,
        trajectoryIndices: [0],
        text: spans.answer,
        toolShare: 0,
      },
      {
        id: 3,
        parentId: 1,
        children: [],
        start: 50,
        end: 90,
        trajectoryIndices: [1],
        text: hostileText.leaf,
        toolShare: 0,
      },
      {
        id: 4,
        parentId: 1,
        children: [5, 7],
        start: 50,
        end: 100,
        trajectoryIndices: [2, 4],
        text: spans.wrongCall,
        toolShare: 0.3,
        fork: { entropy: 2.11, entropyDelta: 0.69, probability: 0.64, branches: 1 },
      },
      {
        id: 5,
        parentId: 4,
        children: [],
        start: 100,
        end: 120,
        trajectoryIndices: [2],
        text: spans.wrongAnswer,
        toolShare: 0,
      },
      {
        id: 6,
        parentId: 0,
        children: [],
        start: 0,
        end: 40,
        trajectoryIndices: [3],
        text: hostileText.script,
        toolShare: 0,
      },
      {
        id: 7,
        parentId: 4,
        children: [],
        start: 100,
        end: 130,
        trajectoryIndices: [4],
        text: spans.lateAnswer,
        toolShare: 0,
      },
    ],
    trajectories: [
      {
        id: `${promptId}/0`,
        finishReason: 'eos',
        reward: 1,
        toolCalls: 1,
        responseTokens: 70,
        text: first + spans.answer,
      },
      {
        id: `${promptId}/1`,
        finishReason: 'eos',
        reward: 0.9,
        toolCalls: 1,
        responseTokens: 90,
        text: first + hostileText.leaf,
      },
      {
        id: `${promptId}/2`,
        finishReason: 'eos',
        reward: 0,
        toolCalls: 2,
        responseTokens: 120,
        text: first + spans.wrongCall + spans.wrongAnswer,
      },
      {
        id: `${promptId}/3`,
        finishReason: 'length',
        reward: -1,
        toolCalls: 0,
        responseTokens: 40,
        text: hostileText.script,
      },
      {
        id: `${promptId}/4`,
        finishReason: 'eos',
        reward: 0.6,
        toolCalls: 2,
        responseTokens: 130,
        text: first + spans.wrongCall + spans.lateAnswer,
      },
    ],
    statistics: { computedTokens: 420, reusedTokens: 150, toolCalls: 3, rounds: 2 },
  };
}

/** Independent sampling: a root with one leaf per trajectory. */
export function independentTree(promptId: string): RolloutTreeJson {
  const texts = [
    spans.call + spans.result + spans.answer,
    spans.wrongAnswer,
    spans.call + spans.result + spans.lateAnswer,
  ];
  return {
    promptId,
    prompt: hostileText.prompt,
    nodes: [
      {
        id: 0,
        parentId: null,
        children: [1, 2, 3],
        start: 0,
        end: 0,
        trajectoryIndices: [0, 1, 2],
        toolShare: 0,
      },
      ...texts.map((text, index) => ({
        id: index + 1,
        parentId: 0,
        children: [],
        start: 0,
        end: text.length,
        trajectoryIndices: [index],
        text,
        toolShare: index === 1 ? 0 : 0.35,
      })),
    ],
    trajectories: texts.map((text, index) => ({
      id: `${promptId}/${index}`,
      finishReason: 'eos',
      reward: [1, 0, 0.6][index] as number,
      toolCalls: index === 1 ? 0 : 1,
      responseTokens: text.length,
      text,
    })),
    statistics: { computedTokens: 300, reusedTokens: 0, toolCalls: 2 },
  };
}

const metricsOf = (
  random: ReturnType<typeof createRandom>,
  step: number,
  skill: number,
): TrainingStepRecord => {
  const noise = () => (random.next() - 0.5) * 0.1;
  const progress = 1 - Math.exp(-step / 5);
  return {
    step,
    reward: 0.2 + skill * progress + noise(),
    accuracy: 0.1 + skill * progress + noise(),
    entropy: 1.6 - 0.5 * progress + noise(),
    tool_calls_per_trajectory: 0.5 + progress + noise(),
    tool_calls_executed: 30 + step,
    trajectories: 32,
    tokens_computed: 5000 + 10 * step,
    tokens_reused: 800,
    response_length: 90 + step,
    loss: step === 3 ? Number.NaN : 0.05 - step * 0.001,
    time_rollout_ms: 1200,
    time_update_ms: 300,
  };
};

/** Steps per seed of each algorithm; dapo's third seed stops early (its curve has fewer seeds at the end). */
export const sampleSteps = 12;

/** The sample report. `dapo` seed 3 has 10 steps; `dapo` has no trees. */
export function sampleReport(): ComparisonReportData {
  const algorithms = [
    { name: 'grpo', skill: 0.35 },
    { name: 'dapo', skill: 0.45 },
    { name: 'arpo', skill: 0.55 },
  ];
  const seeds = [1, 2, 3];
  return {
    format: 'arpo-comparison-report',
    version: 1,
    title: hostileText.title,
    createdAt: '2025-11-25T12:00:00.000Z',
    run: {
      command: hostileText.command,
      seeds,
      budget: {
        steps: sampleSteps,
        trajectoriesPerStep: 32,
        promptsPerStep: 4,
        maxToolCallsPerTrajectory: 3,
        maxResponseTokens: 160,
      },
      model: 'decoder transformer, 2 layers, d_model 128',
      trainingData: 'arithmetic (800 tasks)',
      evaluation: { dataset: 'arithmetic test', tasks: 100, samplesPerTask: 8, temperature: 1 },
      notes: ['Synthetic numbers for tests <not real>.'],
    },
    algorithms: algorithms.map((algorithm, algorithmIndex) => ({
      name: algorithm.name,
      ...(algorithm.name === 'arpo' ? { description: 'Entropy-based adaptive rollout <ARPO>' } : {}),
      training: seeds.map((seed) => {
        const random = createRandom({ seed: seed * 10 + algorithmIndex });
        const steps = algorithm.name === 'dapo' && seed === 3 ? 10 : sampleSteps;
        return {
          seed,
          steps: Array.from({ length: steps }, (_, step) => metricsOf(random, step, algorithm.skill)),
        };
      }),
      evaluation: {
        accuracy: {
          mean: 0.3 + algorithm.skill * 0.5,
          interval: {
            lower: 0.25 + algorithm.skill * 0.5,
            upper: 0.36 + algorithm.skill * 0.5,
            confidence: 0.95,
            method: 'percentile-bootstrap',
            resamples: 2000,
          },
          perSeed: seeds.map((seed) => ({ seed, value: 0.28 + algorithm.skill * 0.5 + seed * 0.01 })),
        },
        passAtK: [1, 2, 4, 8].map((k) => ({
          k,
          mean: Math.min(1, 0.3 + algorithm.skill * 0.5 + 0.06 * Math.log2(k)),
          ...(k === 1
            ? {
                interval: {
                  lower: 0.2 + algorithm.skill * 0.5,
                  upper: 0.4 + algorithm.skill * 0.5,
                  confidence: 0.95,
                },
              }
            : {}),
        })),
        samples: 2400,
        toolCallsPerSample: 1.1 + algorithmIndex * 0.2,
        tokensPerSample: 96 + algorithmIndex * 4,
        wallTimeSeconds: {
          training: 320 + algorithmIndex * 40,
          evaluation: 41,
          total: 361 + algorithmIndex * 40,
        },
        extra: { tool_use: 0.8, format_errors: 0.02 },
      },
      trees:
        algorithm.name === 'arpo'
          ? [
              { seed: 1, step: 11, tree: forkedTree('t17') },
              { seed: 2, step: 11, tree: forkedTree('t42') },
            ]
          : algorithm.name === 'grpo'
            ? [{ seed: 1, step: 11, tree: independentTree('t17') }]
            : [],
    })),
  };
}
