// A genuinely short real comparison written as a report: the tiny byte-level transformer of
// test/report-support/toy-environment.ts (random init, a real `square` tool), GRPO and ARPO with the reference
// presets' estimators and objectives, 2 seeds each, the same budget, then a sampled evaluation (pass@k,
// bootstrap intervals over items). Usage:
//   pnpm --filter @arpo/bench report:example <out-directory> [--steps 12]
// Relative paths are taken from the directory the command was typed in.
import { resolve } from 'node:path';
import { writeReports } from '../src/index.js';
import { runToyComparison } from '../test/report-support/toy-comparison.js';

const argv = process.argv.slice(2);
let steps = 12;
const positional: string[] = [];
for (let index = 0; index < argv.length; index++) {
  const argument = argv[index] as string;
  if (argument === '--steps') steps = Number(argv[++index]);
  else positional.push(argument);
}
const [outputArgument] = positional;
if (outputArgument === undefined || !Number.isInteger(steps) || steps < 1) {
  process.stderr.write('usage: report:example <out-directory> [--steps 12]\n');
  process.exit(2);
}
const output = resolve(process.env.INIT_CWD ?? process.cwd(), outputArgument);

const data = await runToyComparison({
  steps,
  command: `pnpm --filter @arpo/bench report:example ${argv.join(' ')}`,
  log: (line) => process.stdout.write(`${line}\n`),
});
const paths = await writeReports({ directory: output, data });
process.stdout.write(`wrote ${paths.json}\n      ${paths.markdown}\n      ${paths.html}\n`);
