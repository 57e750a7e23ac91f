/**
 * Namespace trust in CI (issue class "CI trusts the pull request"): tenant labels come only from
 * the namespace inventory, read from the base ref, never from Namespace manifests in the change.
 * Run through the real CLI in-process, on a real git repository.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { defaultBundlePath } from '../../../io/default-bundle.ts';
import { loadNamespaceInventory } from './namespaces.ts';

const now = '2026-11-10T12:00:00Z';
let repo: string;

const namespace = (name: string, tenant: string) =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels:\n    tollgate.dev/tenant: ${tenant}\n`;

/** A RoleBinding in tenant-evil granting a service account of tenant-acme: allowed only within one tenant. */
const binding = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: borrow
  namespace: tenant-evil
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
  - kind: ServiceAccount
    name: odoo
    namespace: tenant-acme
`;

/** The ResourceQuota and LimitRange every tenant namespace carries (tenant-quotas in the baseline). */
const quotaObjects = (ns: string) => `apiVersion: v1
kind: ResourceQuota
metadata: { name: quota, namespace: ${ns} }
spec:
  hard: { cpu: '4', memory: 8Gi, pods: '20', services.loadbalancers: '0', services.nodeports: '0' }
---
apiVersion: v1
kind: LimitRange
metadata: { name: defaults, namespace: ${ns} }
spec:
  limits: [{ type: Container, default: { cpu: 500m, memory: 512Mi } }]
`;

function tenantQuotasOf(stdout: string, kind: string): { status: string } | undefined {
  const report = JSON.parse(stdout) as {
    resources: { object: { kind: string }; results: { policy: string; status: string }[] }[];
  };
  return report.resources
    .find((r) => r.object.kind === kind)
    ?.results.find((r) => r.policy === 'tenant-quotas');
}

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
}

async function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['check', ...args, '--now', now, '--offline', '--format', 'json'], {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin: async () => '',
    cwd: repo,
    env: process.env,
  });
  return { code, stdout, stderr };
}

function isolationOf(
  stdout: string,
  kind: string,
): { status: string; findings: { path: string }[] } | undefined {
  const report = JSON.parse(stdout) as {
    resources: {
      object: { kind: string };
      results: { policy: string; status: string; findings: { path: string }[] }[];
    }[];
  };
  return report.resources
    .find((r) => r.object.kind === kind)
    ?.results.find((r) => r.policy === 'namespace-isolation');
}

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'tollgate-namespaces-'));
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'platform@corp.example');
  git('config', 'user.name', 'platform');
  // The security team's inventory on the base branch: tenant-evil is its own tenant; tenant-acme
  // has its quota and LimitRange, tenant-evil none.
  writeFileSync(
    join(repo, 'namespaces.yaml'),
    namespace('tenant-acme', 'acme') +
      '---\n' +
      quotaObjects('tenant-acme') +
      '---\n' +
      namespace('tenant-evil', 'evil'),
  );
  git('add', '.');
  git('commit', '-qm', 'inventory');
  git('tag', 'base');
  // The pull request: forges tenant-evil's label in the inventory and in a Namespace manifest (which
  // brings its own quota and LimitRange), and claims in the inventory that tenant-evil has a quota.
  writeFileSync(
    join(repo, 'namespaces.yaml'),
    namespace('tenant-acme', 'acme') +
      '---\n' +
      quotaObjects('tenant-acme') +
      '---\n' +
      namespace('tenant-evil', 'acme') +
      '---\n' +
      quotaObjects('tenant-evil'),
  );
  writeFileSync(
    join(repo, 'change.yaml'),
    namespace('tenant-evil', 'acme') + '---\n' + quotaObjects('tenant-evil') + '---\n' + binding,
  );
});

describe('namespace labels in CI come from the trusted inventory only', () => {
  it('a Namespace manifest in the change does not make its namespace another tenant', async () => {
    const { code, stdout } = await check('change.yaml');
    expect(code).toBe(1);
    expect(isolationOf(stdout, 'RoleBinding')?.status).toBe('fail');
    expect(isolationOf(stdout, 'RoleBinding')?.findings.map((f) => f.path)).toContain(
      'subjects[0].namespace',
    );
  });

  it('the inventory is read from the base ref, so the pull request cannot edit the labels', async () => {
    const forged = await check('change.yaml', '--namespaces', 'namespaces.yaml');
    expect(forged.code, 'the working-tree inventory is the forged one').toBe(0);
    const trusted = await check('change.yaml', '--namespaces', 'namespaces.yaml', '--namespaces-ref', 'base');
    expect(trusted.code).toBe(1);
    expect(isolationOf(trusted.stdout, 'RoleBinding')?.status).toBe('fail');
  });

  it('a binding within one tenant passes with the inventory', async () => {
    writeFileSync(
      join(repo, 'same.yaml'),
      binding.replace('namespace: tenant-acme', 'namespace: tenant-evil'),
    );
    const { code } = await check('same.yaml', '--namespaces', 'namespaces.yaml', '--namespaces-ref', 'base');
    expect(code).toBe(0);
  });

  it('refuses an inventory that is not one, naming the file', async () => {
    writeFileSync(join(repo, 'bad.yaml'), binding);
    const { code, stderr } = await check('change.yaml', '--namespaces', 'bad.yaml');
    expect(code).toBe(2);
    expect(stderr).toContain('bad.yaml: holds a RoleBinding');
    writeFileSync(
      join(repo, 'twice.yaml'),
      namespace('a', 'tenant-x') + '---\n' + namespace('a', 'tenant-y'),
    );
    await expect(loadNamespaceInventory('twice.yaml', repo)).rejects.toThrow('namespace "a" is listed twice');
    const missing = await check(
      'change.yaml',
      '--namespaces',
      'namespaces.yaml',
      '--namespaces-ref',
      'no-such-ref',
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('namespaces.yaml@no-such-ref: cannot read the namespace inventory');
  });

  it('bundle diff judges its corpus with the same inventory', async () => {
    const baseline = readFileSync(defaultBundlePath, 'utf8');
    // The old bundle does not enforce namespace-isolation; the new one (the baseline) does.
    const old = baseline.replace(/(namespace-isolation:\n\s+enforcement:) deny/, '$1 off');
    expect(old).not.toBe(baseline);
    writeFileSync(join(repo, 'old.yaml'), old);
    writeFileSync(join(repo, 'new.yaml'), baseline);
    writeFileSync(join(repo, 'cross.yaml'), binding);
    const diff = async (...extra: string[]) => {
      let stdout = '';
      const code = await main(
        [
          'bundle',
          'diff',
          'old.yaml',
          'new.yaml',
          '--corpus',
          'cross.yaml',
          '--format',
          'json',
          '--now',
          now,
          ...extra,
        ],
        {
          stdout: (t) => void (stdout += t),
          stderr: () => undefined,
          stdin: async () => '',
          cwd: repo,
          env: process.env,
        },
      );
      expect(code).toBe(0);
      return (JSON.parse(stdout) as { corpus: { newlyDenied: unknown[] } }).corpus.newlyDenied.length;
    };
    // Without labels tenant-evil is an unknown tenant: its binding of tenant-acme's account is denied.
    expect(await diff()).toBe(1);
    // An inventory where both namespaces belong to tenant acme: the same binding stays within the tenant.
    writeFileSync(
      join(repo, 'one-tenant.yaml'),
      namespace('tenant-acme', 'acme') + '---\n' + namespace('tenant-evil', 'acme'),
    );
    expect(await diff('--namespaces', 'one-tenant.yaml')).toBe(0);
  });

  it("takes a namespace's quota and LimitRange from the base ref's inventory, never the pull request's", async () => {
    writeFileSync(join(repo, 'relabel.yaml'), namespace('tenant-evil', 'evil'));
    const forged = await check('relabel.yaml', '--namespaces', 'namespaces.yaml');
    expect(tenantQuotasOf(forged.stdout, 'Namespace')?.status).toBe('pass');
    const trusted = await check(
      'relabel.yaml',
      '--namespaces',
      'namespaces.yaml',
      '--namespaces-ref',
      'base',
    );
    expect(trusted.code).toBe(1);
    expect(tenantQuotasOf(trusted.stdout, 'Namespace')?.status).toBe('fail');
    // tenant-acme has them on the base branch: relabelling it needs none in the change.
    writeFileSync(join(repo, 'acme.yaml'), namespace('tenant-acme', 'acme'));
    const acme = await check('acme.yaml', '--namespaces', 'namespaces.yaml', '--namespaces-ref', 'base');
    expect(tenantQuotasOf(acme.stdout, 'Namespace')?.status).toBe('pass');
    expect(acme.code).toBe(0);
  });

  it('refuses a ResourceQuota without a namespace in the inventory, naming it', async () => {
    writeFileSync(
      join(repo, 'nameless.yaml'),
      namespace('tenant-x', 'x') + '---\n' + quotaObjects('tenant-x').replace(', namespace: tenant-x', ''),
    );
    await expect(loadNamespaceInventory('nameless.yaml', repo)).rejects.toThrow(
      'nameless.yaml: ResourceQuota "quota" has no metadata.namespace',
    );
    const inventory = await loadNamespaceInventory('namespaces.yaml', repo);
    expect(inventory.contentCount).toBe(4);
    expect(inventory.contents('tenant-evil').map((o) => o.kind)).toEqual(['ResourceQuota', 'LimitRange']);
  });

  it('reads a kubectl get namespaces -o yaml List', async () => {
    writeFileSync(
      join(repo, 'list.yaml'),
      `apiVersion: v1\nkind: List\nitems:\n  - ${namespace('tenant-evil', 'acme').trimEnd().replaceAll('\n', '\n    ')}\n`,
    );
    const inventory = await loadNamespaceInventory('list.yaml', repo);
    expect(inventory.count).toBe(1);
    expect(inventory.lookup('tenant-evil')?.metadata?.labels?.['tollgate.dev/tenant']).toBe('acme');
  });
});
