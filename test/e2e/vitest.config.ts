import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests against a real kube-apiserver (`npm run test:e2e`). One cluster is started in
 * globalSetup and shared; files run one at a time because webhook configurations are cluster-wide.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/e2e/**/*.e2e.test.ts'],
    // test/support/build-dist.ts: the tollgate the tests start runs dist/, built first when stale.
    globalSetup: ['test/support/build-dist.ts', 'test/e2e/global-setup.ts'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
