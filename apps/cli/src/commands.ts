import type { Command } from './command.js';
import { compareCommand } from './commands/compare-command.js';
import { demoCommand } from './commands/demo-command.js';
import { evalCommand } from './commands/eval-command.js';
import { serveCommand } from './commands/serve-command.js';
import { sftCommand } from './commands/sft-command.js';
import { trainCommand } from './commands/train-command.js';

/** Every `arpo` command, in help order. */
export const commands: readonly Command[] = [
  demoCommand,
  sftCommand,
  trainCommand,
  evalCommand,
  compareCommand,
  serveCommand,
];
