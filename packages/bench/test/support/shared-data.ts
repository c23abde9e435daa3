import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (packages/bench/test/support → four levels up). */
export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** `../shared/data/benchmarks` beside the checkout (see ../shared/README.md). */
export const benchmarksDirectory = join(repositoryRoot, '..', 'shared', 'data', 'benchmarks');

export function benchmarkFile(name: string, file = 'test.jsonl'): string {
  const path = join(benchmarksDirectory, name, file);
  if (!existsSync(path)) throw new Error(`shared benchmark file missing: ${path} (see ../shared/README.md)`);
  return path;
}
