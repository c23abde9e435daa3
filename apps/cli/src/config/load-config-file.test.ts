import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lazySchema, ValidationError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runConfigSchema } from '../run-config/run-config.js';
import { configFieldLine, loadConfigFile, parseConfigText } from './load-config-file.js';

const schema = lazySchema('train config', () =>
  z.object({
    algorithm: z.enum(['grpo', 'dapo', 'arpo']),
    rollout: z.object({ alpha: z.number().max(1), trajectories: z.number().int() }),
  }),
);

function failure(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    if (ValidationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('config files', () => {
  it('accepts comments and trailing commas', () => {
    const text =
      '{\n  // which algorithm\n  "algorithm": "arpo",\n  "rollout": { "alpha": 0.5, "trajectories": 16, },\n}\n';
    expect(parseConfigText({ text, source: 'a.json', schema })).toEqual({
      algorithm: 'arpo',
      rollout: { alpha: 0.5, trajectories: 16 },
    });
  });

  it('names the file, line and field of a wrong value', () => {
    const text =
      '{\n  "algorithm": "arpo",\n  "rollout": {\n    "alpha": 3,\n    "trajectories": 16\n  }\n}\n';
    const error = failure(() => parseConfigText({ text, source: 'runs/a.json', schema }));
    expect(error.field).toBe('rollout.alpha');
    expect(error.source).toBe('runs/a.json:4');
    expect(error.message).toContain('runs/a.json:4');
    expect(error.message).toContain('rollout.alpha');
  });

  it('reports a missing field at its parent object', () => {
    const text = '{\n  "algorithm": "ppo",\n  "rollout": {\n    "alpha": 0.5\n  }\n}';
    const error = failure(() => parseConfigText({ text, source: 'b.json', schema }));
    expect(error.issues.map((issue) => issue.path.join('.'))).toEqual(['algorithm', 'rollout.trajectories']);
    expect(error.issues[0]?.message).toContain('(line 2)');
    expect(error.issues[1]?.message).toContain('(line 3)');
  });

  it('reports JSON syntax errors with line and column', () => {
    const error = failure(() =>
      parseConfigText({ text: '{\n  "algorithm": "arpo"\n  "rollout": {}\n}', source: 'c.json', schema }),
    );
    expect(error.source).toBe('c.json:3');
    expect(error.message).toMatch(/line 3 column 3: CommaExpected/);
  });

  it('reports a missing file', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'arpo-config-'));
    await expect(loadConfigFile(join(directory, 'nope.json'), schema)).rejects.toThrow(/ENOENT/);
    writeFileSync(join(directory, 'ok.json'), '{"algorithm":"grpo","rollout":{"alpha":0,"trajectories":8}}');
    expect((await loadConfigFile(join(directory, 'ok.json'), schema)).algorithm).toBe('grpo');
  });
});

describe('run config KL and entropy settings', () => {
  it('accepts them and names the line of a bad estimator or a negative coefficient', () => {
    const good =
      '{\n  "rl": { "klCoefficient": 0.01, "klEstimator": "k3+", "entropyCoefficient": 0.001 }\n}\n';
    expect(parseConfigText({ text: good, source: 'kl.json', schema: runConfigSchema }).rl).toEqual({
      klCoefficient: 0.01,
      klEstimator: 'k3+',
      entropyCoefficient: 0.001,
    });
    const estimator = failure(() =>
      parseConfigText({
        text: '{\n  "rl": {\n    "klEstimator": "k4"\n  }\n}\n',
        source: 'kl.json',
        schema: runConfigSchema,
      }),
    );
    expect(estimator.source).toBe('kl.json:3');
    expect(estimator.field).toBe('rl.klEstimator');
    const coefficient = failure(() =>
      parseConfigText({
        text: '{\n  "rl": {\n    "steps": 2,\n    "klCoefficient": -0.1\n  }\n}\n',
        source: 'kl.json',
        schema: runConfigSchema,
      }),
    );
    expect(coefficient.source).toBe('kl.json:4');
    expect(coefficient.field).toBe('rl.klCoefficient');
  });

  it('finds the line of a field for errors found after merging', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'arpo-field-line-'));
    const path = join(directory, 'a.jsonc');
    writeFileSync(path, '{\n  // comment\n  "model": {\n    "heads": 3,\n  },\n}\n');
    expect(await configFieldLine(path, ['model', 'heads'])).toBe(4);
    expect(await configFieldLine(path, ['model', 'modelDim'])).toBeUndefined();
    expect(await configFieldLine(join(directory, 'missing.json'), ['model'])).toBeUndefined();
  });
});
