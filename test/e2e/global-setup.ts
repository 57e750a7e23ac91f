import type { TestProject } from 'vitest/node';
import { startCluster, type ClusterInfo } from './harness.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The etcd + kube-apiserver started once for the whole e2e run. */
    cluster: ClusterInfo;
  }
}

/**
 * Starts one etcd + kube-apiserver for the e2e run and provides its connection details to the test
 * files; the returned teardown stops both by PID. Set TOLLGATE_E2E_KEEP=1 to keep the scratch
 * directory (logs, audit log, certificates) after the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const cluster = await startCluster();
  console.log(
    `[e2e] ${cluster.info.kubernetesVersion} ready at ${cluster.info.url} in ${Date.now() - started} ms (dir ${cluster.info.dir})`,
  );
  project.provide('cluster', cluster.info);
  return async () => {
    await cluster.stop({ keepDir: process.env['TOLLGATE_E2E_KEEP'] === '1' });
  };
}
