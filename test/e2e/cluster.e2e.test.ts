import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitForAuditEvent } from './harness.ts';
import { KubeClient, type KubeObject } from './kube.ts';

const cluster = inject('cluster');
const kube = new KubeClient(cluster);
afterAll(() => kube.close());

describe('the e2e cluster', () => {
  it('serves the pinned Kubernetes version', async () => {
    const res = await kube.get<{ gitVersion: string; major: string }>('/version');
    expect(res.status).toBe(200);
    expect(res.body.gitVersion).toMatch(/^v1\.\d+\.\d+/);
  });

  it('creates and reads a Namespace and a ConfigMap through the API server', async () => {
    const ns = `harness-${Date.now().toString(36)}`;
    const created = await kube.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'tollgate.dev/e2e': 'true' } },
    });
    expect(created.status).toBe(201);

    const cm = await kube.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { greeting: 'hello' },
    });
    expect(cm.status).toBe(201);

    const read = await kube.get<KubeObject & { data: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/configmaps/settings`,
    );
    expect(read.status).toBe(200);
    expect(read.body.data).toEqual({ greeting: 'hello' });
    expect(read.body.metadata?.uid).toBe(cm.body.metadata?.uid);

    const nsRead = await kube.get(`/api/v1/namespaces/${ns}`);
    expect(nsRead.body.metadata?.labels?.['tollgate.dev/e2e']).toBe('true');

    const audit = await waitForAuditEvent(
      cluster.auditLogFile,
      (e) => e.verb === 'create' && e.objectRef?.resource === 'configmaps' && e.objectRef.namespace === ns,
    );
    expect(audit.responseStatus?.code).toBe(201);
    expect(audit.user?.username).toBe('tollgate-e2e-admin');
  });

  it('honours server-side dry-run', async () => {
    const res = await kube.create(
      '/api/v1/namespaces/default/configmaps',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry-run-only' } },
      { dryRun: true },
    );
    expect(res.status).toBe(201);
    const read = await kube.get('/api/v1/namespaces/default/configmaps/dry-run-only');
    expect(read.status).toBe(404);
  });
});
