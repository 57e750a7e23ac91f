/**
 * A manifest without metadata.namespace is judged in CI as the webhook sees it: kubectl creates a
 * namespaced object in its context's namespace (`--default-namespace`, else the bundle's
 * `spec.defaultNamespace`, else `default`) and the API server fills it in before admission;
 * cluster-scoped kinds stay without one. Through the real CLI, in-process.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { admissionReview, startTestWebhook } from '../../../test/support/webhook.ts';

let dir: string;

const bundle = (extra = '') => `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: default-namespace, version: 1.0.0 }
spec:
${extra}  policies:
    namespace-isolation:
      enforcement: deny
      sharedNamespaces: [ingress]
`;

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: odoo }
spec:
  selector: { matchLabels: { app: odoo } }
  template:
    metadata: { labels: { app: odoo } }
    spec: { containers: [{ name: odoo, image: registry.corp.example/erp/odoo:17 }] }
`;

const clusterObjects = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: reader }
rules: [{ apiGroups: [''], resources: [pods], verbs: [get] }]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: backends.erp.example }
spec:
  group: erp.example
  scope: Cluster
  names: { kind: Backend, plural: backends }
  versions: [{ name: v1, served: true, storage: true }]
---
apiVersion: erp.example/v1
kind: Backend
metadata: { name: ledger }
`;

interface Resource {
  object: { kind: string; namespace?: string; name: string };
  decision: string;
  results: { policy: string; findings: { path: string; message: string }[] }[];
}

async function check(...args: string[]): Promise<{ code: number; resources: Resource[]; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['check', ...args, '--format', 'json', '--offline'], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin: async () => '',
    cwd: dir,
    env: process.env,
  });
  return {
    code,
    stderr,
    resources: stdout ? (JSON.parse(stdout) as { resources: Resource[] }).resources : [],
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-default-ns-'));
  writeFileSync(join(dir, 'bundle.yaml'), bundle());
  writeFileSync(join(dir, 'bundle-acme.yaml'), bundle('  defaultNamespace: tenant-acme\n'));
  writeFileSync(join(dir, 'deployment.yaml'), deployment);
  writeFileSync(join(dir, 'cluster.yaml'), clusterObjects);
});

describe('a manifest without a namespace is judged where kubectl would create it', () => {
  it('in default by default, denied there as at admission', async () => {
    const { code, resources } = await check('deployment.yaml', '--bundle', 'bundle.yaml');
    expect(code).toBe(1);
    expect(resources[0]?.object.namespace).toBe('default');
    const findings = resources[0]?.results.flatMap((r) => r.findings) ?? [];
    expect(findings.map((f) => f.message)).toContain(
      'Deployment "odoo" is in the "default" namespace, which belongs to no tenant',
    );
    // The webhook, given what the API server sends for `kubectl apply` in the default namespace.
    const hook = await startTestWebhook(bundle(), { now: new Date() });
    try {
      const parsed = (await import('yaml')).parse(deployment) as Record<string, unknown>;
      const { body } = await hook.post(
        admissionReview(parsed, { resource: 'deployments', namespace: 'default' }),
      );
      expect(body.response.allowed).toBe(false);
    } finally {
      await hook.close();
    }
  });

  it('in --default-namespace, which overrides the bundle', async () => {
    const flag = await check(
      'deployment.yaml',
      '--bundle',
      'bundle.yaml',
      '--default-namespace',
      'tenant-acme',
    );
    expect(flag.resources[0]?.object.namespace).toBe('tenant-acme');
    expect(flag.code).toBe(0);
    const fromBundle = await check('deployment.yaml', '--bundle', 'bundle-acme.yaml');
    expect(fromBundle.resources[0]?.object.namespace).toBe('tenant-acme');
    expect(fromBundle.code).toBe(0);
    const overridden = await check(
      'deployment.yaml',
      '--bundle',
      'bundle-acme.yaml',
      '--default-namespace',
      'default',
    );
    expect(overridden.code).toBe(1);
  });

  it('leaves cluster-scoped kinds without one, those of CRDs in the same input included', async () => {
    const { resources } = await check('cluster.yaml', '--bundle', 'bundle.yaml');
    expect(resources.map((r) => [r.object.kind, r.object.namespace])).toEqual([
      ['ClusterRole', undefined],
      ['CustomResourceDefinition', undefined],
      ['Backend', undefined],
    ]);
    expect(resources.every((r) => r.decision === 'allow')).toBe(true);
  });

  it('refuses a --default-namespace that is not a namespace name', async () => {
    const { code, stderr } = await check('deployment.yaml', '--default-namespace', 'Tenant_A');
    expect(code).toBe(2);
    expect(stderr).toContain('--default-namespace "Tenant_A" is not a namespace name');
  });

  it('refuses a bundle defaultNamespace that is not one, naming the field', async () => {
    writeFileSync(join(dir, 'bad.yaml'), bundle('  defaultNamespace: Not_A_Namespace\n'));
    const { code, stderr } = await check('deployment.yaml', '--bundle', 'bad.yaml');
    expect(code).toBe(2);
    expect(stderr).toContain('/spec/defaultNamespace');
  });
});
