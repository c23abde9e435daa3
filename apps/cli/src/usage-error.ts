import { ArpoError } from '@arpo/core';

const name = 'ArpoUsageError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** Codes of the errors `node:util` `parseArgs` throws for bad command lines. */
const parseArgsCodes = new Set([
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
]);

/** A command line the command cannot run: an unknown flag, a flag without its value, a stray argument. */
export class UsageError extends ArpoError {
  private readonly [symbol] = true;

  /** The offending flag or argument as typed, for example `--sed`. */
  readonly argument: string;

  constructor(options: { command: string; argument: string; message: string; cause?: unknown }) {
    super({
      name,
      code: 'usage',
      message: `${options.message}; see 'arpo ${options.command} --help'`,
      cause: options.cause,
    });
    this.argument = options.argument;
  }

  static override isInstance(error: unknown): error is UsageError {
    return ArpoError.hasMarker(error, marker);
  }

  /** The usage error of a `parseArgs` failure, or undefined when `error` is something else. */
  static fromParseArgs(error: unknown, command: string): UsageError | undefined {
    const code = (error as { code?: unknown } | null)?.code;
    if (!(error instanceof Error) || typeof code !== 'string' || !parseArgsCodes.has(code)) return undefined;
    // parseArgs names the option in quotes: "Unknown option '--sed'", "Option '--seed <value>' argument missing".
    const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
    const argument = quoted.split(' ')[0] ?? quoted;
    let message: string;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') message = `unknown option '${argument}'`;
    else if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') message = `option '${argument}' needs a value`;
    else message = `unexpected argument '${argument}' (every setting is a --flag VALUE pair)`;
    return new UsageError({ command, argument, message, cause: error });
  }
}
