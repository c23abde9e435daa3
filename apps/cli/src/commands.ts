import type { Command } from './command.js';
import { demoCommand } from './commands/demo-command.js';

/** Every `arpo` command, in help order. */
export const commands: readonly Command[] = [demoCommand];
