/**
 * The chart installed with the real `helm` into the real API server: the generated CA and serving
 * certificate stay the same across `helm upgrade` (the chart looks its Secret up), and an upgrade
 * within 30 days of expiry rotates them while the webhook configuration trusts both CAs.
 * The release uses failurePolicy Ignore: no webhook pod runs here, and other e2e files share the cluster.
 * It runs the image scripts/build-image.ts builds, by digest.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildImage } from '../../scripts/build-image.ts';
import { KubeClient, type KubeObject } from './kube.ts';
import { toolPath } from './tools.ts';

const cluster = inject('cluster');
const kube = new KubeClient(cluster);
const chart = fileURLToPath(new URL('../../charts/tollgate', import.meta.url));
const namespace = 'tollgate-chart-e2e';
const release = 'chart-e2e';
const secretPath = `/api/v1/namespaces/${namespace}/secrets/${release}-tollgate-tls`;
const webhookPath = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${release}-tollgate`;

function helm(...args: string[]): string {
  return execFileSync(
    toolPath('helm'),
    [...args, '--kubeconfig', cluster.kubeconfigFile, '--namespace', namespace],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

interface Secret extends KubeObject {
  data: Record<string, string>;
}
interface WebhookConfiguration extends KubeObject {
  webhooks: { clientConfig: { caBundle: string }; failurePolicy: string }[];
}

async function state(): Promise<{
  ca: string;
  cert: string;
  key: string;
  caBundle: string;
  notAfter: string;
}> {
  const secret = (await kube.get<Secret>(secretPath)).body;
  const vwc = (await kube.get<WebhookConfiguration>(webhookPath)).body;
  const decode = (value: string | undefined) => Buffer.from(value ?? '', 'base64').toString('utf8');
  return {
    ca: decode(secret.data['ca.crt']),
    cert: decode(secret.data['tls.crt']),
    key: decode(secret.data['tls.key']),
    caBundle: decode(vwc.webhooks[0]?.clientConfig.caBundle),
    notAfter: secret.metadata?.annotations?.['tollgate.dev/not-after'] ?? '',
  };
}

// The image scripts/build-image.ts builds: the release runs it by digest (no kubelet here, so what
// can be checked is the digest in the Deployment the API server stored).
let imageDigest: string;
beforeAll(async () => {
  const layout = mkdtempSync(join(tmpdir(), 'tollgate-chart-image-'));
  try {
    imageDigest = (await buildImage(layout)).digest;
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
}, 900_000);

afterAll(() => {
  try {
    helm('uninstall', release);
  } finally {
    kube.close();
  }
});

describe('helm install / upgrade against the API server', () => {
  it('keeps the generated TLS across upgrades and rotates it before expiry with both CAs trusted', async () => {
    helm(
      'install',
      release,
      chart,
      '--create-namespace',
      '--set',
      'webhook.failurePolicy=Ignore',
      '--set',
      `image.digest=${imageDigest}`,
    );
    const deployment = await kube.get<
      KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }
    >(`/apis/apps/v1/namespaces/${namespace}/deployments/${release}-tollgate`);
    expect(deployment.body.spec.template.spec.containers[0]?.image).toBe(
      `registry.corp.example/platform/tollgate@${imageDigest}`,
    );
    const installed = await state();
    expect(installed.caBundle).toBe(installed.ca);
    expect(new X509Certificate(installed.cert).verify(new X509Certificate(installed.ca).publicKey)).toBe(
      true,
    );
    expect(new Date(installed.notAfter).getTime()).toBeGreaterThan(Date.now() + 700 * 24 * 3600 * 1000);

    helm('upgrade', release, chart, '--reuse-values');
    const upgraded = await state();
    expect(upgraded).toEqual(installed);

    // 10 days before expiry: the next upgrade rotates, and the webhook trusts the new and the old CA
    const soon = new Date(Date.now() + 10 * 24 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const patched = await kube.patch(secretPath, {
      metadata: { annotations: { 'tollgate.dev/not-after': soon } },
    });
    expect(patched.status).toBe(200);
    helm('upgrade', release, chart, '--reuse-values');
    const rotated = await state();
    expect(rotated.ca).not.toBe(installed.ca);
    expect(rotated.key).not.toBe(installed.key);
    expect(new X509Certificate(rotated.cert).verify(new X509Certificate(rotated.ca).publicKey)).toBe(true);
    expect(rotated.caBundle).toContain(rotated.ca.trim());
    expect(rotated.caBundle).toContain(installed.ca.trim());

    // and the upgrade after that trusts only the new CA again
    helm('upgrade', release, chart, '--reuse-values');
    const settled = await state();
    expect(settled.ca).toBe(rotated.ca);
    expect(settled.caBundle).toBe(rotated.ca);
  });
});
