export type { Command, CommandIo } from './command.js';
export { runCli } from './run-cli.js';
