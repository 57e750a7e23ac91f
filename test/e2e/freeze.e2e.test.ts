/**
 * Freeze windows through the API server: `tollgate serve --now` puts the webhook inside or outside
 * month-end close; inside it, creates, updates and deletes in scope are denied, and a break-glass
 * token approved by two approvers lets the change through.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeClient, type KubeStatus } from './kube.ts';
import {
  breakGlassToken,
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
const bundle = join(repoRoot, 'test', 'e2e', 'fixtures', 'freeze-bundle.yaml');
const FROZEN_NS = 'e2e-frozen';
/** Monday 2026-11-30, inside the close of November (Thu 26th 18:00 to Wed 2 Dec 23:59, Berlin). */
const IN_CLOSE = '2026-11-30T12:00:00+01:00';
/** Monday 2026-11-16: no window in force. */
const OPEN = '2026-11-16T12:00:00+01:00';
const release = 'tollgate-e2e-freeze';
const deployments = `/apis/apps/v1/namespaces/${FROZEN_NS}/deployments`;
let tollgate: TollgateServer;

const ledger = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'ledger', labels: { app: 'ledger' } },
  spec: {
    selector: { matchLabels: { app: 'ledger' } },
    template: {
      metadata: { labels: { app: 'ledger' } },
      spec: { containers: [{ name: 'ledger', image: 'registry.corp.example/erp/odoo:17.0' }] },
    },
  },
};

/** Restarts `tollgate serve` with another test clock, on the same port and certificate. */
async function restartAt(now: string): Promise<void> {
  await tollgate.stop();
  tollgate = await startTollgate({ cluster, bundle, now, port: tollgate.port, tls: tollgate.tls });
}

function messageOf(body: unknown): string {
  return (body as KubeStatus | undefined)?.message ?? '';
}

beforeAll(async () => {
  await ensureNamespace(kube, FROZEN_NS);
  tollgate = await startTollgate({ cluster, bundle, now: IN_CLOSE });
  await registerWebhook(
    kube,
    chartWebhookConfiguration({ release, url: tollgate.url, caPem: tollgate.caPem }),
  );
  await waitForWebhook(kube, FROZEN_NS, pod('probe', ['registry.corp.example/erp/odoo:17.0']));
});

afterAll(async () => {
  await unregisterWebhook(kube, release);
  await tollgate?.stop();
  kube.close();
});

describe('freeze windows through the API server (tollgate serve --now)', () => {
  it('denies a create during month-end close and says when to merge', async () => {
    const res = await kube.create(deployments, ledger);
    expect(res.status).toBe(403);
    const message = messageOf(res.body);
    expect(message).toContain(`admission webhook "${webhookName}" denied the request`);
    expect(message).toContain('[freeze-windows]');
    expect(message).toContain('month-end-close');
    expect(message).toContain('2026-12-02T23:59');
  });

  it('admits the same create outside the window', async () => {
    await restartAt(OPEN);
    const res = await kube.create(deployments, ledger);
    expect(res.status).toBe(201);
  });

  it('denies an update and a delete during the window', async () => {
    await restartAt(IN_CLOSE);
    const update = await kube.patch(`${deployments}/ledger`, { metadata: { labels: { release: 'hotfix' } } });
    expect(update.status).toBe(403);
    expect(messageOf(update.body)).toContain('[freeze-windows]');
    // kubectl scale goes through the scale subresource
    const scale = await kube.patch(`${deployments}/ledger/scale`, { spec: { replicas: 5 } });
    expect(scale.status).toBe(403);
    expect(messageOf(scale.body)).toContain('[freeze-windows]');
    const del = await kube.delete(`${deployments}/ledger`);
    expect(del.status).toBe(403);
    expect(messageOf(del.body)).toContain('[freeze-windows]');
    expect((await kube.get(`${deployments}/ledger`)).status).toBe(200);
  });

  it('allows the delete when the object carries a valid break-glass token', async () => {
    const token = breakGlassToken(cluster.dir, { namespace: FROZEN_NS, kind: 'Deployment', name: 'ledger' });
    const annotate = await kube.patch(`${deployments}/ledger`, {
      metadata: { annotations: { 'tollgate.dev/break-glass': token } },
    });
    expect(messageOf(annotate.body)).toBe('');
    expect(annotate.status).toBe(200);
    const del = await kube.delete(`${deployments}/ledger`);
    expect(messageOf(del.body)).not.toContain('denied');
    expect(del.status).toBe(200);
    expect((await kube.get(`${deployments}/ledger`)).status).toBe(404);
  });
});
