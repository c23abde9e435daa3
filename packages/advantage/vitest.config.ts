import { defineProject, mergeConfig } from 'vitest/config';
import { arpoProject } from '../../vitest.shared.ts';

// Every property test runs with one fixed fast-check seed (the repo's determinism rule).
export default mergeConfig(
  arpoProject({ name: 'advantage' }),
  defineProject({ test: { setupFiles: ['./test/support/fast-check-seed.ts'] } }),
);
