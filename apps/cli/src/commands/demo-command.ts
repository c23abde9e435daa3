import type { Command } from '../command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the main job on the embedded default (work in progress)',
  usage: 'arpo demo [--seed N] [--out DIR]',
  async run(_args, io) {
    io.out('arpo demo: being assembled\n');
    return 0;
  },
};
