import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'cli/**/*.test.ts',
      'io/**/*.test.ts',
      'scripts/**/*.test.ts',
      'policies/**/*.test.ts',
      'webhook/**/*.test.ts',
      'ci-action/**/*.test.ts',
      'audit/**/*.test.ts',
      'evidence/**/*.test.ts',
      'test/**/*.test.ts',
      'bin/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', 'test/e2e/**', 'ci-action/dist/**'],
    // The tests that run the command run dist/: build it first when stale (bin/tollgate.js does).
    globalSetup: ['test/support/build-dist.ts'],
    // Generous: several tests run the real CLI or server, and CI machines are shared.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
