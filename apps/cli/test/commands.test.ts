import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/run-cli.js';

async function run(argv: string[], cwd: string) {
  let out = '';
  let error = '';
  const code = await runCli(argv, { out: (text) => (out += text), error: (text) => (error += text), cwd });
  return { code, out, error };
}

// Small enough for seconds on 2 cores; still the real Pyodide tool, tokenizer, model and trainer.
const tinyConfig = `{
  // a tiny run for tests
  "seed": 3,
  "tasks": { "arithmetic": { "train": 24, "test": 4 }, "imperfectShare": 0.3 },
  "model": { "layers": 1, "modelDim": 32, "heads": 2, "contextLength": 192 },
  "sft": { "epochs": 1, "batchSize": 8 },
  "rl": { "steps": 2, "promptsPerStep": 2, "trajectoriesPerPrompt": 4, "maxResponseTokens": 48, "checkpointEvery": 1 },
  "evaluation": { "samples": 1, "maxResponseTokens": 48 },
}
`;

describe('config files', () => {
  it('names the file, line and field of a bad value', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-config-'));
    await writeFile(
      join(directory, 'bad.jsonc'),
      '{\n  "seed": 1,\n  "rl": {\n    "algorithm": "ppo",\n    "steps": 2\n  }\n}\n',
    );
    const result = await run(['sft', '--config', 'bad.jsonc'], directory);
    expect(result.code).toBe(1);
    expect(result.error).toContain(`${join(directory, 'bad.jsonc')}:4`);
    expect(result.error).toContain('rl.algorithm');
  });

  it('rejects unknown fields and syntax errors with their line', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-config-'));
    await writeFile(join(directory, 'typo.json'), '{\n  "sft": {\n    "epoch": 2\n  }\n}\n');
    const typo = await run(['demo', '--config', 'typo.json'], directory);
    expect(typo.code).toBe(1);
    expect(typo.error).toMatch(/typo\.json:\d+/);
    expect(typo.error).toContain('epoch');
    await writeFile(join(directory, 'broken.json'), '{\n  "seed": 1,\n  "rl": { "steps": }\n}\n');
    const broken = await run(['demo', '--config', 'broken.json'], directory);
    expect(broken.error).toContain('broken.json:3');
    expect(broken.error).toContain('syntax error');
  });

  it('names the file and line of a model size that only fails once merged with the defaults', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-config-'));
    // heads comes from the defaults (4): 130 is not divisible by it, which the file alone cannot show.
    await writeFile(
      join(directory, 'model.jsonc'),
      '{\n  "seed": 1,\n  "model": {\n    "modelDim": 130\n  }\n}\n',
    );
    const result = await run(['sft', '--config', 'model.jsonc'], directory);
    expect(result.code).toBe(1);
    expect(result.error).toContain(`${join(directory, 'model.jsonc')}:4`);
    expect(result.error).toContain('model.modelDim: model.modelDim 130 is not divisible by model.heads 4');
  });

  it('train needs --from, and a run directory', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-train-'));
    const missing = await run(['train'], directory);
    expect(missing.error).toContain("'--from': is required");
    const notARun = await run(['train', '--from', '.'], directory);
    expect(notARun.error).toContain('config.json does not exist');
    const evaluation = await run(['eval', '--from', '.'], directory);
    expect(evaluation.error).toContain('config.json does not exist');
  });
});

describe('arpo sft → train → eval, and demo resume (real runtime)', () => {
  it('trains, checkpoints and evaluates through the commands', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-run-'));
    await writeFile(join(directory, 'tiny.jsonc'), tinyConfig);
    const sft = await run(['sft', '--config', 'tiny.jsonc', '--out', 'sft'], directory);
    expect(sft.error).toBe('');
    expect(sft.code).toBe(0);
    expect(sft.out).toContain('Evaluation after SFT: accuracy');
    const sftState = JSON.parse(await readFile(join(directory, 'sft', 'sft-state.json'), 'utf8'));
    expect(sftState.steps).toBe(3);

    const changed = await run(['train', '--from', 'sft', '--train-tasks', '30', '--out', 'bad'], directory);
    expect(changed.code).toBe(1);
    expect(changed.error).toContain("'tasks' differs from the SFT run");

    const train = await run(['train', '--from', 'sft', '--algo', 'grpo', '--out', 'grpo'], directory);
    expect(train.error).toBe('');
    expect(train.out).toContain('grpo step 2/2');
    expect(train.out).toContain('Evaluation after grpo');
    const state = JSON.parse(await readFile(join(directory, 'grpo', 'training-state.json'), 'utf8'));
    expect(state.step).toBe(2);
    const metrics = (await readFile(join(directory, 'grpo', 'metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(metrics.length).toBeGreaterThan(2);

    const dapo = await run(['train', '--from', 'sft', '--algo', 'dapo', '--out', 'dapo'], directory);
    expect(dapo.error).toBe('');
    expect(dapo.code).toBe(0);
    expect(dapo.out).toContain('dapo step 2/2');
    expect(dapo.out).toContain('Evaluation after dapo');
    const dapoLines = (await readFile(join(directory, 'dapo', 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const dapoSteps = dapoLines.filter((line) => line.phase === 'rl');
    expect(dapoSteps.map((line) => line.step)).toEqual([0, 1]);
    for (const line of dapoSteps) {
      // DAPO's preset has no KL term. A 1-epoch SFT policy often scores every sample alike: dynamic sampling
      // then drops every group (no accuracy spread) within its 3 rounds and the step reports why.
      expect(line.reference_kl).toBeUndefined();
      if (line.kind === 'train') expect(line.sampling_rounds as number).toBeGreaterThanOrEqual(1);
      else
        expect(line.reason).toMatch(
          /^no trajectories to train on: dynamic sampling found no group with accuracy spread in [123] rounds$/,
        );
    }
    expect(JSON.parse(await readFile(join(directory, 'dapo', 'training-state.json'), 'utf8')).step).toBe(2);

    const evaluation = await run(['eval', '--from', 'grpo'], directory);
    expect(evaluation.error).toBe('');
    expect(evaluation.out).toContain(`Evaluation of ${state.checkpoint}`);
    const saved = JSON.parse(await readFile(join(directory, 'grpo', 'evaluation-eval-step-2.json'), 'utf8'));
    expect(saved.samples).toBe(4);
    const trained = JSON.parse(await readFile(join(directory, 'grpo', 'evaluation-after-grpo.json'), 'utf8'));
    // Same weights, same seeds: `arpo eval` reproduces the evaluation `arpo train` made.
    expect(saved.accuracy).toBe(trained.accuracy);
    expect(saved.meanReward).toBe(trained.meanReward);
  }, 240_000);

  it('mixes in multi-hop search questions when the config asks for them', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-multi-hop-'));
    await writeFile(
      join(directory, 'mixed.jsonc'),
      tinyConfig.replace(
        '"arithmetic": { "train": 24, "test": 4 }',
        '"arithmetic": { "train": 8, "test": 2 }, "multiHop": { "train": 16, "test": 2 }',
      ),
    );
    const sft = await run(['sft', '--config', 'mixed.jsonc', '--out', 'sft'], directory);
    expect(sft.error).toBe('');
    expect(sft.out).toContain(
      'Tasks: 24 train, 4 test (arithmetic with Python, multi-hop questions with search)',
    );
    const transcripts = (await readFile(join(directory, 'sft', 'transcripts-after-sft.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { question: string });
    expect(
      transcripts.filter((transcript) => transcript.question.includes('In which country was')).length,
    ).toBe(2);
  }, 120_000);

  it('re-running the demo in the same directory resumes instead of redoing the work', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-demo-'));
    await writeFile(join(directory, 'tiny.jsonc'), tinyConfig);
    const first = await run(['demo', '--config', 'tiny.jsonc', '--out', 'run', '--algo', 'arpo'], directory);
    expect(first.error).toBe('');
    expect(first.out).toContain('after arpo:');
    const firstSummary = JSON.parse(await readFile(join(directory, 'run', 'summary.json'), 'utf8'));
    const second = await run(['demo', '--config', 'tiny.jsonc', '--out', 'run', '--algo', 'arpo'], directory);
    expect(second.out).toContain('Resuming the run');
    expect(second.out).toContain('SFT already done');
    expect(second.out).not.toContain('SFT step');
    const secondSummary = JSON.parse(await readFile(join(directory, 'run', 'summary.json'), 'utf8'));
    expect(secondSummary.rl.resumedFrom).toBe(2);
    expect(secondSummary.after.accuracy).toBe(firstSummary.after.accuracy);
    const otherConfig = await run(
      ['demo', '--config', 'tiny.jsonc', '--out', 'run', '--seed', '4'],
      directory,
    );
    expect(otherConfig.error).toContain('holds a run with another config');
  }, 240_000);
});
