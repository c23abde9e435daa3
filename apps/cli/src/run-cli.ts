import { ArpoError } from '@arpo/core';
import type { Command, CommandIo } from './command.js';
import { commands } from './commands.js';
import { UsageError } from './usage-error.js';
import { cliVersion } from './version.js';

function helpText(list: readonly Command[]): string {
  const width = Math.max(...list.map((command) => command.name.length));
  const lines = list.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `arpo ${cliVersion}: train tool-using LLM agents with reinforcement learning\n\nUsage: arpo <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'arpo <command> --help' for a command's options.\n`;
}

/** Runs the CLI with `argv` (without node and script). Never throws: errors become messages and exit codes. */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(helpText(commands));
    return 0;
  }
  if (name === 'version' || name === '--version' || name === '-v') {
    io.out(`${cliVersion}\n`);
    return 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.error(
      `arpo: unknown command '${name}'. Known: ${commands.map((candidate) => candidate.name).join(', ')}\n`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // A bad command line is the user's to fix: one line naming the flag, exit code 2 like an unknown command.
    const usage = UsageError.isInstance(error) ? error : UsageError.fromParseArgs(error, name);
    if (usage !== undefined) {
      io.error(`arpo ${name}: ${usage.message} [${usage.code}]\n`);
      return 2;
    }
    if (ArpoError.isInstance(error)) {
      io.error(`arpo ${name}: ${error.message} [${error.code}]\n`);
      return 1;
    }
    io.error(
      `arpo ${name}: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}
