/**
 * `tollgate serve` behind the chart's ValidatingWebhookConfiguration, against the real API server:
 * what a user of kubectl sees for denials, warnings, audit annotations, dry-run, ephemeral containers
 * and a webhook that is down.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForAuditEvent } from './harness.ts';
import { KubeClient, type KubeStatus } from './kube.ts';
import {
  chartWebhookConfiguration,
  ensureNamespace,
  pod,
  registerWebhook,
  repoRoot,
  startTollgate,
  unregisterWebhook,
  waitForWebhook,
  webhookName,
  type TollgateServer,
} from './tollgate.ts';

const cluster = inject('cluster');
const kube = new KubeClient(cluster);
const bundle = join(repoRoot, 'test', 'e2e', 'fixtures', 'bundle.yaml');
const APPS = 'e2e-apps';
const AUDITED = 'e2e-audited';
const EXCLUDED = 'e2e-excluded';
const APPROVED = 'registry.corp.example/erp/odoo:17.0';
const UNAPPROVED = 'evil.example/app:1';
const release = 'tollgate-e2e';
let tollgate: TollgateServer;

beforeAll(async () => {
  for (const ns of [APPS, AUDITED, EXCLUDED]) await ensureNamespace(kube, ns);
  tollgate = await startTollgate({ cluster, bundle });
  const config = chartWebhookConfiguration({
    release,
    url: tollgate.url,
    caPem: tollgate.caPem,
    excludedNamespaces: [EXCLUDED],
    failurePolicy: 'Fail',
  });
  await registerWebhook(kube, config);
  await waitForWebhook(kube, APPS, pod('probe', [UNAPPROVED]));
});

afterAll(async () => {
  await unregisterWebhook(kube, release);
  await tollgate?.stop();
  kube.close();
});

function messageOf(body: unknown): string {
  return (body as KubeStatus | undefined)?.message ?? '';
}

describe('tollgate serve behind the API server', () => {
  it('admits a Pod from an approved registry without warnings', async () => {
    const res = await kube.create(`/api/v1/namespaces/${APPS}/pods`, pod('allowed', [APPROVED]));
    expect(res.status).toBe(201);
    expect(res.warnings).toEqual([]);
  });

  it('denies a Pod from an unapproved registry with our message and the JSON path', async () => {
    const res = await kube.create(`/api/v1/namespaces/${APPS}/pods`, pod('denied', [APPROVED, UNAPPROVED]));
    expect(res.status).toBe(403);
    const message = messageOf(res.body);
    expect(message).toContain(`admission webhook "${webhookName}" denied the request: tollgate denied`);
    expect(message).toContain('(bundle e2e-scenarios@1.0.0)');
    expect(message).toContain(`[approved-registries] spec.containers[1].image: image "${UNAPPROVED}"`);
    expect(message).not.toContain('spec.containers[0]');
    expect((await kube.get(`/api/v1/namespaces/${APPS}/pods/denied`)).status).toBe(404);
  });

  it('reports the path inside a Deployment template, on the object the user wrote', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: UNAPPROVED }] },
        },
      },
    };
    const res = await kube.create(`/apis/apps/v1/namespaces/${APPS}/deployments`, deployment);
    expect(res.status).toBe(403);
    expect(messageOf(res.body)).toContain('[approved-registries] spec.template.spec.containers[0].image');
  });

  it('returns warnings of warn-enforced policies to the client', async () => {
    const db = pod('db-hostport', [], {
      containers: [
        {
          name: 'postgres',
          image: 'registry.corp.example/erp/postgres:16',
          ports: [{ containerPort: 5432, hostPort: 5432 }],
        },
      ],
    });
    const res = await kube.create(`/api/v1/namespaces/${APPS}/pods`, db);
    expect(res.status).toBe(201);
    expect(res.warnings).toEqual([
      expect.stringContaining('[no-public-databases] spec.containers[0].ports[0].hostPort: hostPort 5432'),
    ]);
  });

  it('writes audit annotations of audit-enforced policies to the API server audit log', async () => {
    const res = await kube.create(`/api/v1/namespaces/${AUDITED}/pods`, pod('audited', [APPROVED]));
    expect(res.status).toBe(201);
    expect(res.warnings).toEqual([]);
    const event = await waitForAuditEvent(
      cluster.auditLogFile,
      (e) =>
        e.stage === 'ResponseComplete' &&
        e.verb === 'create' &&
        e.objectRef?.resource === 'pods' &&
        e.objectRef.namespace === AUDITED &&
        e.objectRef.name === 'audited',
    );
    const annotations = event.annotations ?? {};
    expect(annotations[`${webhookName}/freeze-windows.audit`]).toContain('always-frozen');
    expect(annotations[`${webhookName}/bundle`]).toMatch(/^e2e-scenarios@1\.0\.0 sha256:[0-9a-f]{64}$/);
  });

  it('judges server-side dry-run requests the same way and persists nothing', async () => {
    const denied = await kube.create(`/api/v1/namespaces/${APPS}/pods`, pod('dry-denied', [UNAPPROVED]), {
      dryRun: true,
    });
    expect(denied.status).toBe(403);
    expect(messageOf(denied.body)).toContain('[approved-registries] spec.containers[0].image');
    const allowed = await kube.create(`/api/v1/namespaces/${APPS}/pods`, pod('dry-allowed', [APPROVED]), {
      dryRun: true,
    });
    expect(allowed.status).toBe(201);
    expect((await kube.get(`/api/v1/namespaces/${APPS}/pods/dry-allowed`)).status).toBe(404);
  });

  it('checks ephemeral containers added through the subresource, as kubectl debug does', async () => {
    const target = `/api/v1/namespaces/${APPS}/pods/debug-target`;
    expect(
      (await kube.create(`/api/v1/namespaces/${APPS}/pods`, pod('debug-target', [APPROVED]))).status,
    ).toBe(201);
    const debug = (name: string, image: string) => ({
      spec: { ephemeralContainers: [{ name, image, stdin: true, tty: true, targetContainerName: 'c0' }] },
    });
    const options = { contentType: 'application/strategic-merge-patch+json' };
    const denied = await kube.patch(
      `${target}/ephemeralcontainers`,
      debug('debugger', 'busybox:1.36'),
      options,
    );
    expect(denied.status).toBe(403);
    expect(messageOf(denied.body)).toContain('[approved-registries] spec.ephemeralContainers[0].image');
    const allowed = await kube.patch(
      `${target}/ephemeralcontainers`,
      debug('debugger', 'registry.corp.example/erp/debug:1'),
      options,
    );
    expect(allowed.status).toBe(200);
  });

  // Last: stops the webhook.
  it('with the webhook down, rejects writes (failurePolicy Fail) except in excluded namespaces', async () => {
    await tollgate.stop();
    await waitForWebhook(kube, APPS, pod('probe', [APPROVED]), 'unreachable');
    const rejected = await kube.create(`/api/v1/namespaces/${APPS}/pods`, pod('while-down', [APPROVED]));
    expect(rejected.status).toBe(500);
    expect(messageOf(rejected.body)).toContain(`failed calling webhook "${webhookName}"`);
    const excluded = await kube.create(
      `/api/v1/namespaces/${EXCLUDED}/pods`,
      pod('while-down', [UNAPPROVED]),
    );
    expect(excluded.status).toBe(201);
    const system = await kube.create(`/api/v1/namespaces/kube-system/pods`, pod('while-down', [UNAPPROVED]));
    expect(system.status).toBe(201);
  });
});
