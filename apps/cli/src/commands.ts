import type { Command } from './command.js';
import { demoCommand } from './commands/demo-command.js';
import { evalCommand } from './commands/eval-command.js';
import { sftCommand } from './commands/sft-command.js';
import { trainCommand } from './commands/train-command.js';

/** Every `arpo` command, in help order. */
export const commands: readonly Command[] = [demoCommand, sftCommand, trainCommand, evalCommand];
