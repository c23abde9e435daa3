import { defineProject } from 'vitest/config';

/**
 * The one vitest project shape every package uses. The `@arpo/source` condition makes workspace
 * packages resolve to their TypeScript sources, so tests need no build.
 */
export function arpoProject(options: { name: string; testTimeout?: number; isolate?: boolean }) {
  return defineProject({
    resolve: { conditions: ['@arpo/source'] },
    ssr: { resolve: { conditions: ['@arpo/source'] } },
    test: {
      name: options.name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 30_000,
      isolate: options.isolate ?? true,
    },
  });
}
