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
    const unknownFlag = await run(['demo', '--sed', '1']);
    expect(unknownFlag.code).toBe(1);
    expect(unknownFlag.error).toContain("Unknown option '--sed'");
  });
});
