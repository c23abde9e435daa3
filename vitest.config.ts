import { defineConfig } from 'vitest/config';

// Root config: `pnpm vitest` here runs every package's project at once (handy in an editor).
// CI runs the same projects per package through turbo (`pnpm test`).
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
