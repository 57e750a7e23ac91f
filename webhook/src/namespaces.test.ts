/**
 * The namespace informer against a real etcd + kube-apiserver (started by the e2e harness from the
 * binaries `.ci/tools.sh` installs): first sync gates readiness, labels reach look-ups through the
 * watch, and the cache keeps serving once the API server is gone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '../../test/e2e/harness.ts';
import type { Cluster } from '../../test/e2e/harness.ts';
import { toolPath } from '../../test/e2e/tools.ts';
import { createLogger } from './decision-log.ts';
import { createMetrics } from './metrics.ts';
import { clusterConnection, informerNamespaces } from './namespaces.ts';
import type { NamespaceSource } from './namespaces.ts';
import { deployment } from '../../test/support/policy.ts';
import { admissionReview, startTestWebhook } from '../../test/support/webhook.ts';

const missingTool = (() => {
  try {
    toolPath('kube-apiserver');
    toolPath('etcd');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
})();

const bundle = `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: ns-test, version: 1.0.0 }
spec:
  policies:
    approved-registries: { registries: [registry.corp.example/erp] }
`;

/**
 * The informer against a loopback HTTP server standing in for the API server (a kubeconfig with a
 * token pointing at it), once the server listens.
 */
async function informerAgainst(server: Server, options: { retryMs?: number } = {}): Promise<NamespaceSource> {
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'tollgate-kc-')), 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: 'http://127.0.0.1:${port}' } }]
users: [{ name: u, user: { token: x } }]
contexts: [{ name: fake, context: { cluster: fake, user: u } }]
current-context: fake
`,
  );
  return informerNamespaces({
    connect: await clusterConnection({ kind: 'kubeconfig', file: kubeconfig }),
    description: 'fake',
    metrics: createMetrics({ defaultMetrics: false }),
    logger: createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    ...options,
  });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('namespace informer', () => {
  it('is not ready while the API server cannot be listed, and still answers admissions', async () => {
    const hook = await startTestWebhook(bundle, { cluster: { kind: 'kubeconfig', file: '/dev/null' } }).catch(
      (error: unknown) => error,
    );
    // an empty kubeconfig has no cluster: that is a start-up error, not a silent "no namespaces"
    expect(hook).toBeInstanceOf(Error);
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-kc-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{ name: dead, cluster: { server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: x } }]
contexts: [{ name: dead, context: { cluster: dead, user: u } }]
current-context: dead
`,
    );
    const dead = await startTestWebhook(bundle, { cluster: { kind: 'kubeconfig', file: kubeconfig } });
    try {
      const ready = await dead.ops('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.text).toContain('namespace cache has not synced yet');
      const image = 'registry.corp.example/erp/odoo:17';
      const { body } = await dead.post(admissionReview(deployment([{ name: 'a', image }])));
      expect(body.response.allowed).toBe(true);
      await waitFor(() => dead.logs.some((l) => l.event === 'namespace-cache-error'), 'an informer error');
      expect((await dead.ops('/metrics')).text).toMatch(/tollgate_namespace_cache_errors_total [1-9]/);
    } finally {
      await dead.close();
    }
  });

  describe.skipIf(missingTool !== undefined)(
    `against a real kube-apiserver${missingTool ? ` (skipped: ${missingTool})` : ''}`,
    () => {
      let cluster: Cluster | undefined;
      let source: NamespaceSource;
      const metrics = createMetrics({ defaultMetrics: false });
      beforeAll(async () => {
        cluster = await startCluster();
        source = await informerNamespaces({
          connect: await clusterConnection({ kind: 'kubeconfig', file: cluster.info.kubeconfigFile }),
          description: 'test',
          metrics,
          logger: createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
          retryMs: 100,
        });
      });
      afterAll(async () => {
        await source?.stop();
        await cluster?.stop();
      });

      it('syncs, follows label changes through the watch, and serves the stale cache when the API server is gone', async () => {
        const client = cluster?.client;
        if (!client) throw new Error('no cluster');
        await waitFor(() => source.synced(), 'first sync');
        expect(source.lookup('kube-system')?.metadata?.name).toBe('kube-system');
        expect(source.lookup('tenant-acme')).toBeUndefined();

        const created = await client.create('/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'tenant-acme', labels: { 'tollgate.dev/tenant': 'acme' } },
        });
        expect(created.status).toBe(201);
        await waitFor(() => source.lookup('tenant-acme') !== undefined, 'the watch to add tenant-acme');
        expect(source.lookup('tenant-acme')?.metadata?.labels?.['tollgate.dev/tenant']).toBe('acme');

        await client.patch(
          '/api/v1/namespaces/tenant-acme',
          { metadata: { labels: { 'tollgate.dev/environment': 'production' } } },
          { contentType: 'application/merge-patch+json' },
        );
        await waitFor(
          () => source.lookup('tenant-acme')?.metadata?.labels?.['tollgate.dev/environment'] === 'production',
          'the watch to update labels',
        );

        await cluster?.stop();
        cluster = undefined;
        await sleep(500);
        expect(source.synced()).toBe(true);
        expect(source.lookup('tenant-acme')?.metadata?.labels?.['tollgate.dev/tenant']).toBe('acme');
        const text = await metrics.registry.metrics();
        expect(text).toMatch(/tollgate_cache_requests_total\{cache="namespaces",outcome="hit"\} [1-9]/);
        expect(text).toMatch(/tollgate_cache_hit_ratio\{cache="namespaces"\} 0\.\d+/);
      });
    },
  );

  it('opens no watch when stopped while its first list is in flight (a failed start must let the process exit)', async () => {
    // The API server's timing is what matters here, so a loopback server holds the list answer until
    // the informer has been told to stop.
    const requests: string[] = [];
    let releaseList: (() => void) | undefined;
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if ((req.url ?? '').includes('watch=true')) return; // a watch stays open, as the API server's does
      releaseList = () =>
        res.setHeader('content-type', 'application/json').end(
          JSON.stringify({
            kind: 'NamespaceList',
            apiVersion: 'v1',
            metadata: { resourceVersion: '7' },
            items: [],
          }),
        );
    });
    try {
      const source = await informerAgainst(server);
      await waitFor(() => releaseList !== undefined, 'the list request');
      const stopped = source.stop();
      releaseList?.();
      await stopped;
      await sleep(300);
      expect(requests.filter((url) => url.includes('watch=true'))).toEqual([]);
      expect(requests).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('applies watch events, watches again from the last bookmark, and lists again after 410 Gone', async () => {
    const ns = (name: string, resourceVersion: string) => ({
      metadata: { name, resourceVersion, labels: { team: name } },
    });
    const requests: string[] = [];
    let lists = 0;
    let watches = 0;
    const server = createServer((req, res) => {
      const url = req.url ?? '';
      requests.push(url);
      res.setHeader('content-type', 'application/json');
      if (!url.includes('watch=true')) {
        lists++;
        const items = lists === 1 ? [ns('a', '1'), ns('b', '2')] : [ns('a', '1'), ns('d', '20')];
        res.end(
          JSON.stringify({
            kind: 'NamespaceList',
            metadata: { resourceVersion: lists === 1 ? '5' : '20' },
            items,
          }),
        );
        return;
      }
      watches++;
      const event = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
      if (watches === 1) {
        event('DELETED', ns('b', '6'));
        event('ADDED', { kind: 'Namespace', apiVersion: 'v1', ...ns('c', '7') });
        event('BOOKMARK', { metadata: { resourceVersion: '9' } });
        res.end();
      } else if (watches === 2) {
        event('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
      }
      // the third watch stays open, as the API server's does
    });
    const source = await informerAgainst(server, { retryMs: 50 });
    try {
      await waitFor(() => watches >= 3, 'the third watch');
      const watchVersions = requests
        .filter((url) => url.includes('watch=true'))
        .map((url) => new URL(url, 'http://x').searchParams.get('resourceVersion'));
      expect(watchVersions).toEqual(['5', '9', '20']);
      expect(lists).toBe(2);
      expect(source.synced()).toBe(true);
      expect(source.lookup('a')).toMatchObject({
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: { name: 'a' },
      });
      expect(source.lookup('d')?.metadata?.labels?.['team']).toBe('d');
      // b was deleted by the watch, c added by it and then dropped by the new list
      expect(source.lookup('b')).toBeUndefined();
      expect(source.lookup('c')).toBeUndefined();
    } finally {
      await source.stop();
      server.closeAllConnections();
      server.close();
    }
  });

  it('reads a watch event split across chunks only once its line is whole', async () => {
    let write: ((text: string) => void) | undefined;
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (!(req.url ?? '').includes('watch=true')) {
        res.end(
          JSON.stringify({ metadata: { resourceVersion: '3' }, items: [{ metadata: { name: 'old' } }] }),
        );
        return;
      }
      res.flushHeaders();
      write = (text) => res.write(text);
    });
    const source = await informerAgainst(server);
    try {
      await waitFor(() => write !== undefined, 'the watch');
      expect(source.lookup('old')).toBeDefined();
      const added = JSON.stringify({
        type: 'ADDED',
        object: { metadata: { name: 'new', resourceVersion: '4' } },
      });
      write?.(added.slice(0, 25));
      await sleep(100);
      expect(source.lookup('new')).toBeUndefined();
      write?.(`${added.slice(25)}\n`);
      await waitFor(() => source.lookup('new') !== undefined, 'the event to complete');
      write?.(
        `${JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'old', resourceVersion: '5' } } })}\n`,
      );
      await waitFor(() => source.lookup('old') === undefined, 'the removal');
    } finally {
      await source.stop();
      server.closeAllConnections();
      server.close();
    }
  });
});
