import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';
import { cliVersion } from './version.js';

async function run(argv: string[]) {
  let out = '';
  let error = '';
  const code = await runCli(argv, {
    out: (text) => (out += text),
    error: (text) => (error += text),
    cwd: process.cwd(),
  });
  return { code, out, error };
}

describe('arpo', () => {
  it('prints help and the version', async () => {
    const help = await run([]);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: arpo <command>');
    expect(help.out).toContain('demo');
    expect((await run(['--version'])).out).toBe(`${cliVersion}\n`);
    const commandHelp = await run(['demo', '--help']);
    expect(commandHelp.out).toContain('arpo demo [--config FILE]');
    for (const name of ['sft', 'train', 'eval']) expect(help.out).toContain(`  ${name} `);
  });

  it('names an unknown command and lists the known ones', async () => {
    const result = await run(['trian']);
    expect(result.code).toBe(2);
    expect(result.error).toContain("unknown command 'trian'. Known: demo, sft, train, eval");
  });

  it('turns bad flags into one-line typed errors, not stack traces', async () => {
    const badAlgorithm = await run(['demo', '--algo', 'ppo']);
    expect(badAlgorithm.code).toBe(1);
    expect(badAlgorithm.error).toBe(
      "arpo demo: Invalid argument '--algo': must be one of grpo, dapo, arpo, got 'ppo' [invalid-argument]\n",
    );
    const badSeed = await run(['demo', '--seed', 'x']);
    expect(badSeed.error).toContain("Invalid argument '--seed'");
  });

  it('names an unknown flag, a missing value or a stray argument in one line, without a stack trace', async () => {
    const unknownFlag = await run(['demo', '--sed', '1']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.error).toBe("arpo demo: unknown option '--sed'; see 'arpo demo --help' [usage]\n");
    const missingValue = await run(['train', '--from']);
    expect(missingValue.code).toBe(2);
    expect(missingValue.error).toBe(
      "arpo train: option '--from' needs a value; see 'arpo train --help' [usage]\n",
    );
    const stray = await run(['sft', 'runs/a']);
    expect(stray.error).toContain("unexpected argument 'runs/a'");
    for (const result of [unknownFlag, missingValue, stray]) {
      expect(result.error).not.toMatch(/unexpected failure|TypeError|\n\s+at /);
      expect(result.error.trim().split('\n')).toHaveLength(1);
    }
  });

  it('checks the KL and entropy flags', async () => {
    const estimator = await run(['demo', '--kl-estimator', 'k4']);
    expect(estimator.code).toBe(1);
    expect(estimator.error).toContain(
      "Invalid argument '--kl-estimator': must be one of k1, abs, k2, k3, k1+, k2+, k3+, got 'k4'",
    );
    const coefficient = await run(['demo', '--kl-coefficient=-1']);
    expect(coefficient.error).toContain(
      "Invalid argument '--kl-coefficient': must be a non-negative number, got '-1'",
    );
    const entropy = await run(['demo', '--entropy-coefficient', 'lots']);
    expect(entropy.error).toContain("'--entropy-coefficient'");
  });
});
