/**
 * Bypass hunting in approved-registries, resource-limits, namespace-isolation, no-public-databases
 * and freeze-windows, judged with the shipped finance baseline (and the break-glass demo bundle for
 * signed approvals). Every attempt is a regression test: what was a bypass is fixed and must stay
 * denied; what was already denied must stay denied; the controls show the checks are not blanket.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { importJWK } from 'jose';
import type { JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { builtinPolicies, loadBuiltinBundle, loadBundle } from '../../policies/index.ts';
import { evaluate } from '../../policies/engine/evaluate.ts';
import type { CompiledBundle } from '../../policies/engine/bundle.ts';
import type { AdmissionInput, KubeObject, PolicyResult, UserInfo } from '../../policies/engine/types.ts';
import { addApproval, breakGlassAnnotation, createRequest } from '../../policies/engine/break-glass.ts';
import type { BreakGlassClaims } from '../../policies/engine/break-glass.ts';
import { parseManifests } from '../../ci-action/src/gate/manifests.ts';
import { getIn } from '../../policies/engine/workloads.ts';

const root = new URL('../../', import.meta.url);
const baseline = loadBuiltinBundle(
  readFileSync(new URL('bundles/finance-baseline.yaml', root)),
  'bundles/finance-baseline.yaml',
);
const demo = loadBundle(
  readFileSync(new URL('policies/freeze-windows/samples/break-glass-demo.yaml', root)),
  {
    source: 'break-glass-demo.yaml',
    policies: builtinPolicies,
  },
);

/** Namespaces as the webhook's informer would show them. */
const namespaceObjects: Record<string, KubeObject> = Object.fromEntries(
  [
    ['tenant-a', { 'tollgate.dev/tenant': 'a', 'tollgate.dev/environment': 'production' }],
    ['tenant-a-staging', { 'tollgate.dev/tenant': 'a' }],
    ['tenant-b', { 'tollgate.dev/tenant': 'b', 'tollgate.dev/environment': 'production' }],
    ['ingress', {}],
    ['ingress-evil', { 'tollgate.dev/tenant': 'b' }],
    ['monitoring', {}],
  ].map(([name, labels]) => [
    name as string,
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: name as string,
        labels: { 'kubernetes.io/metadata.name': name as string, ...(labels as object) },
      },
    },
  ]),
);
const namespaces = (name: string): KubeObject | undefined => namespaceObjects[name];

/** Outside any close window (12 Nov 2026) and inside the November 2026 close (30 Nov 2026). */
const quiet = new Date('2026-11-12T12:00:00Z');
const inFreeze = new Date('2026-11-30T12:00:00Z');

interface Options {
  readonly operation?: AdmissionInput['operation'];
  readonly oldObject?: KubeObject;
  readonly now?: Date;
  readonly subresource?: string;
  readonly userInfo?: UserInfo;
  readonly relatedObjects?: KubeObject[];
  readonly bundle?: CompiledBundle;
  readonly point?: 'ci' | 'admission';
}

/** The result of one policy on one object, judged as the webhook does. */
async function result(policy: string, object: KubeObject, options: Options = {}): Promise<PolicyResult> {
  const operation = options.operation ?? 'CREATE';
  const input: AdmissionInput =
    operation === 'DELETE'
      ? { operation, oldObject: object }
      : { operation, object, ...(options.oldObject ? { oldObject: options.oldObject } : {}) };
  const namespace = object.metadata?.namespace;
  if (namespace) input.namespace = namespace;
  if (options.subresource) input.subresource = options.subresource;
  if (options.userInfo) input.userInfo = options.userInfo;
  const report = await evaluate(input, options.bundle ?? baseline, {
    now: options.now ?? quiet,
    point: options.point ?? 'admission',
    namespaces,
    ...(options.relatedObjects ? { relatedObjects: options.relatedObjects } : {}),
  });
  const found = report.results.find((r) => r.policy === policy);
  if (!found) throw new Error(`no result for ${policy}`);
  return found;
}

const denied = (r: PolicyResult) => r.status === 'fail' && r.findings.some((f) => f.action === 'deny');
const resources = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } };

function pod(spec: Record<string, unknown>, namespace = 'tenant-a'): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace }, spec };
}

function withImage(image: string): KubeObject {
  return pod({ containers: [{ name: 'app', image, resources }] });
}

// ------------------------------------------------------------------ approved-registries

describe('approved-registries: image references that must stay denied', () => {
  const hex = 'a'.repeat(64);
  const attempts: Array<[string, string]> = [
    ['same host, explicit port 443', 'registry.corp.example:443/erp/odoo:17'],
    ['same host in upper case, other port', 'REGISTRY.CORP.EXAMPLE:5000/erp/odoo:17'],
    ['approved host as a subdomain of an attacker', 'registry.corp.example.evil.com/erp/odoo:17'],
    ['approved host as a path below an attacker', 'evil.com/registry.corp.example/erp/odoo:17'],
    ['path prefix without a / boundary', 'registry.corp.example/erpx/odoo:17'],
    ['path in upper case', 'registry.corp.example/ERP/odoo:17'],
    ['path traversal', 'registry.corp.example/erp/../evil/x:1'],
    ['trailing-dot FQDN host', 'registry.corp.example./erp/odoo:17'],
    ['homoglyph host (Cyrillic у)', 'registrу.corp.example/erp/odoo:17'],
    ['docker.io prefix admitting another repository', 'docker.io/library/traefikx:v3'],
    ['docker.io prefix admitting a sibling path', 'docker.io/library/traefik-evil:v3'],
    ['a user namespace on Docker Hub', 'traefiklabs/traefik:v3'],
    [
      'docker.io host spelled registry-1.docker.io (not normalised: list it to allow it)',
      'registry-1.docker.io/library/traefik:v3',
    ],
    ['host docker.io.evil.com', 'docker.io.evil.com/library/traefik:v3'],
    ['localhost without port', 'localhost/erp/odoo:17'],
    ['localhost with port', 'localhost:5000/registry.corp.example/erp/odoo:17'],
    ['IPv6 loopback registry', '[::1]:5000/erp/odoo:17'],
    ['IPv6 link-local registry', '[fe80::1]/erp/odoo:17'],
    ['IPv4 registry', '10.0.0.1:5000/erp/odoo:17'],
    ['bare image ID', `sha256:${hex}`],
    ['bare hex image ID', hex],
    ['digest-only reference from an unapproved host', `evil.com/miner@sha256:${hex}`],
    ['digest too short', 'registry.corp.example/erp/odoo@sha256:abc'],
    ['leading space', ' registry.corp.example/erp/odoo:17'],
    ['trailing space', 'registry.corp.example/erp/odoo:17 '],
    ['trailing newline', 'registry.corp.example/erp/odoo:17\n'],
    ['leading tab', '\tregistry.corp.example/erp/odoo:17'],
    ['empty string', ''],
    ['approved prefix in the tag', 'evil.com/x:registry.corp.example'],
    ['approved org with different case in the path', 'ghcr.io/CloudNative-PG/postgresql:16'],
    ['approved org as a prefix of another org', 'ghcr.io/cloudnative-pg-evil/postgresql:16'],
  ];
  for (const [what, image] of attempts) {
    it(`denies ${what}: ${JSON.stringify(image)}`, async () => {
      expect(denied(await result('approved-registries', withImage(image)))).toBe(true);
    });
  }

  it.each([
    [
      'an image volume',
      pod({ containers: [], volumes: [{ name: 'v', image: { reference: 'evil.com/x:1' } }] }),
    ],
    [
      'a native sidecar',
      pod({
        containers: [{ name: 'a', image: 'registry.corp.example/erp/odoo:17', resources }],
        initContainers: [{ name: 's', image: 'evil.com/x:1', restartPolicy: 'Always', resources }],
      }),
    ],
    [
      'a CronJob',
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'c', namespace: 'tenant-a' },
        spec: {
          jobTemplate: {
            spec: { template: { spec: { containers: [{ name: 'a', image: 'evil.com/x:1' }] } } },
          },
        },
      },
    ],
  ])('denies an unapproved image in %s', async (_what, object) => {
    expect(denied(await result('approved-registries', object as KubeObject))).toBe(true);
  });

  it('denies a 5 MB image reference with a message of at most 1 KB', async () => {
    const r = await result('approved-registries', withImage(`evil.com/${'a'.repeat(5_000_000)}:1`));
    expect(denied(r)).toBe(true);
    expect(r.findings[0]?.message.length).toBeLessThanOrEqual(1024);
    expect(r.findings[0]?.message).toContain('characters omitted');
  });

  it('denies kubectl debug (pods/ephemeralcontainers) with an unapproved image', async () => {
    const before = withImage('registry.corp.example/erp/odoo:17');
    const after = pod({
      ...(before.spec as Record<string, unknown>),
      ephemeralContainers: [{ name: 'debug', image: 'busybox' }],
    });
    const r = await result('approved-registries', after, {
      operation: 'UPDATE',
      oldObject: before,
      subresource: 'ephemeralcontainers',
    });
    expect(denied(r)).toBe(true);
    expect(r.findings[0]?.path).toBe('spec.ephemeralContainers[0].image');
  });

  const allowed: Array<[string, string]> = [
    ['an approved image', 'registry.corp.example/erp/odoo:17'],
    ['an approved host in upper case (hosts are case-insensitive)', 'REGISTRY.corp.example/erp/odoo:17'],
    ['an official image by short name', 'traefik:v3.1'],
    ['docker.io/<name> (library/ implied)', 'docker.io/traefik:v3.1'],
    ['index.docker.io (means docker.io)', 'index.docker.io/library/traefik:v3.1'],
    ['library/<name>', 'library/traefik:v3.1'],
    ['digest-only reference', `traefik@sha256:${'b'.repeat(64)}`],
    ['tag and digest', `ghcr.io/cloudnative-pg/postgresql:16@sha256:${'c'.repeat(64)}`],
  ];
  for (const [what, image] of allowed) {
    it(`allows ${what} (control)`, async () => {
      expect((await result('approved-registries', withImage(image))).status).toBe('pass');
    });
  }
});

// ------------------------------------------------------------------ resource-limits

describe('resource-limits: quantities that must stay denied (baseline max limits.memory 16Gi, requests.cpu 8)', () => {
  const withResources = (r: Record<string, unknown>) =>
    pod({ containers: [{ name: 'app', image: 'registry.corp.example/erp/odoo:17', resources: r }] });
  const memory = (value: unknown) =>
    withResources({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: value } });
  const cpu = (value: unknown) =>
    withResources({ requests: { cpu: value, memory: '128Mi' }, limits: { memory: '256Mi' } });

  const attempts: Array<[string, KubeObject]> = [
    ['one byte above 16Gi', memory(17_179_869_185)],
    ['16Gi plus a fraction', memory('16.000000001Gi')],
    ['1e11 bytes (exponent)', memory('1e11')],
    ['1E11 bytes (upper-case exponent, not Exa)', memory('1E11')],
    ['1Pi', memory('+1Pi')],
    ['an exponent beyond the parser limit', memory('1e1001')],
    ['a hex string', memory('0x10')],
    ['a leading space', memory(' 1Gi')],
    ['a trailing space', memory('1Gi ')],
    ['a trailing newline', memory('1Gi\n')],
    ['a version-like string', memory('1.0.0')],
    ['an empty string', memory('')],
    ['a negative value', memory('-1Gi')],
    ['NaN (YAML .nan)', memory(Number.NaN)],
    ['Infinity (YAML .inf)', memory(Infinity)],
    ['milli-bytes (typo for Mi)', memory('512m')],
    ['a unit in bytes suffix (GB)', memory('1GB')],
    ['a boolean', memory(true)],
    ['cpu a nano above 8', cpu('8.0000000001')],
    ['cpu 8001m', cpu('8001m')],
    ['cpu missing', withResources({ requests: { memory: '128Mi' }, limits: { memory: '256Mi' } })],
    [
      'resources as a list',
      withResources([{ requests: { cpu: '1' } }] as unknown as Record<string, unknown>),
    ],
    ['limits as a string', withResources({ requests: { cpu: '1', memory: '1Gi' }, limits: '16Gi' })],
    [
      'a request above its limit',
      withResources({ requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '1Gi' } }),
    ],
    [
      'requests.memory unset, defaulted to a limit above the request maximum',
      pod({
        containers: [
          {
            name: 'app',
            image: 'registry.corp.example/erp/odoo:17',
            resources: { requests: { cpu: '1' }, limits: { memory: '17Gi' } },
          },
        ],
      }),
    ],
    [
      'a sidecar without resources',
      pod({
        containers: [{ name: 'app', image: 'registry.corp.example/erp/odoo:17', resources }],
        initContainers: [
          { name: 'proxy', image: 'registry.corp.example/erp/proxy:1', restartPolicy: 'Always' },
        ],
      }),
    ],
  ];
  for (const [what, object] of attempts) {
    it(`denies ${what}`, async () => {
      expect(denied(await result('resource-limits', object))).toBe(true);
    });
  }

  it('denies a megabyte-long quantity without parsing it, in a short message', async () => {
    const started = performance.now();
    const r = await result('resource-limits', memory('9'.repeat(1_000_000) + 'Gi'));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(denied(r)).toBe(true);
    expect(r.findings[0]?.message).toContain('not a realistic quantity');
    expect(r.findings[0]?.message.length).toBeLessThanOrEqual(1024);
  });

  it.each([
    ['exactly 16Gi (inclusive maximum)', memory('16Gi')],
    ['exactly 16Gi in bytes as a number', memory(17_179_869_184)],
    ['cpu exactly 8', cpu('8')],
    ['cpu 8000m', cpu('8000m')],
    ['cpu 1e0', cpu('1e0')],
  ])('allows %s (control)', async (_what, object) => {
    expect((await result('resource-limits', object)).status).toBe('pass');
  });
});

// ------------------------------------------------------------------ namespace-isolation

const rbac = 'rbac.authorization.k8s.io/v1';

function role(rules: unknown[], kind = 'Role'): KubeObject {
  return {
    apiVersion: rbac,
    kind,
    metadata: { name: 'r', ...(kind === 'Role' ? { namespace: 'tenant-a' } : {}) },
    rules,
  };
}

function roleBinding(subjects: unknown[], roleRef = { kind: 'Role', name: 'r' }): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'RoleBinding',
    metadata: { name: 'rb', namespace: 'tenant-a' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
    subjects,
  };
}

function networkPolicy(ingress: unknown[]): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'np', namespace: 'tenant-a' },
    spec: { podSelector: {}, policyTypes: ['Ingress'], ingress },
  };
}

const fromCidrs = (...cidrs: string[]) =>
  networkPolicy([{ from: cidrs.map((cidr) => ({ ipBlock: { cidr } })) }]);

describe('namespace-isolation: attempts that must stay denied', () => {
  const attempts: Array<[string, KubeObject]> = [
    [
      'verb ESCALATE in upper case',
      role([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['ESCALATE'] }]),
    ],
    [
      'verb Bind in mixed case',
      role([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['Bind'] }]),
    ],
    ['verb impersonate', role([{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'] }])],
    ['verb * on resources in apiGroups *', role([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])],
    [
      'escalate hidden in apiGroups * and resources *',
      role([{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'escalate'] }]),
    ],
    [
      'a ClusterRole with verb *',
      role([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], 'ClusterRole'),
    ],
    [
      'a RoleBinding to cluster-admin',
      roleBinding([{ kind: 'User', name: 'alice' }], { kind: 'ClusterRole', name: 'cluster-admin' }),
    ],
    [
      'a RoleBinding to another tenant’s service account',
      roleBinding([{ kind: 'ServiceAccount', name: 'x', namespace: 'tenant-b' }]),
    ],
    [
      'a RoleBinding to another tenant’s service account as a User',
      roleBinding([{ kind: 'User', name: 'system:serviceaccount:tenant-b:x' }]),
    ],
    [
      'a RoleBinding to every service account of another tenant',
      roleBinding([{ kind: 'Group', name: 'system:serviceaccounts:tenant-b' }]),
    ],
    ['a RoleBinding to system:authenticated', roleBinding([{ kind: 'Group', name: 'system:authenticated' }])],
    [
      'a ClusterRoleBinding from a tenant',
      {
        apiVersion: rbac,
        kind: 'ClusterRoleBinding',
        metadata: { name: 'crb' },
        roleRef: { kind: 'ClusterRole', name: 'view' },
        subjects: [{ kind: 'ServiceAccount', name: 'x', namespace: 'tenant-a' }],
      },
    ],
    ['ingress rule without from', networkPolicy([{}])],
    ['ingress from: []', networkPolicy([{ from: [] }])],
    ['namespaceSelector: {}', networkPolicy([{ from: [{ namespaceSelector: {} }] }])],
    [
      'namespaceSelector on a label tenants set',
      networkPolicy([{ from: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }]),
    ],
    [
      'namespaceSelector NotIn on the name label',
      networkPolicy([
        {
          from: [
            {
              namespaceSelector: {
                matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['x'] }],
              },
            },
          ],
        },
      ]),
    ],
    [
      'namespaceSelector Exists on the name label',
      networkPolicy([
        {
          from: [
            {
              namespaceSelector: {
                matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'Exists' }],
              },
            },
          ],
        },
      ]),
    ],
    [
      'namespaceSelector naming another tenant',
      networkPolicy([
        { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'tenant-b' } } }] },
      ]),
    ],
    ['ipBlock 0.0.0.0/0', fromCidrs('0.0.0.0/0')],
    ['ipBlock ::/0', fromCidrs('::/0')],
    ['ipBlock 0.0.0.0/0 written with a zero-padded prefix', fromCidrs('0.0.0.0/00')],
    ['ipBlock ::/0 written as ::0/0', fromCidrs('::0/0')],
    ['ipBlock ::/0 written in full', fromCidrs('0:0:0:0:0:0:0:0/0')],
    ['the IPv4 internet as two /1 halves', fromCidrs('0.0.0.0/1', '128.0.0.0/1')],
    ['the IPv4 internet minus a little', fromCidrs('0.0.0.0/2')],
    [
      'ExternalName Service',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's', namespace: 'tenant-a' },
        spec: { type: 'ExternalName', externalName: 'kubernetes.default.svc' },
      },
    ],
    [
      'Service externalIPs',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's', namespace: 'tenant-a' },
        spec: { ports: [{ port: 80 }], externalIPs: ['10.0.0.1'] },
      },
    ],
    [
      'hand-written Endpoints',
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 's', namespace: 'tenant-a' },
        subsets: [{ addresses: [{ ip: '10.0.0.9' }] }],
      },
    ],
    ['hostNetwork', pod({ hostNetwork: true, containers: [] })],
    [
      'a hostPort',
      pod({ containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 80, hostPort: 80 }] }] }),
    ],
    [
      'capability sys_admin in lower case',
      pod({
        containers: [{ name: 'a', image: 'x', securityContext: { capabilities: { add: ['sys_admin'] } } }],
      }),
    ],
    [
      'capability ALL',
      pod({ containers: [{ name: 'a', image: 'x', securityContext: { capabilities: { add: ['ALL'] } } }] }),
    ],
    [
      'capability CAP_SYS_ADMIN',
      pod({
        containers: [
          { name: 'a', image: 'x', securityContext: { capabilities: { add: ['CAP_SYS_ADMIN'] } } },
        ],
      }),
    ],
    ['a workload in default', pod({ containers: [{ name: 'a', image: 'x' }] }, 'default')],
    [
      'a Traefik route to another tenant’s service',
      {
        apiVersion: 'traefik.io/v1alpha1',
        kind: 'IngressRoute',
        metadata: { name: 'r', namespace: 'tenant-a' },
        spec: {
          routes: [{ match: 'Host(`a`)', services: [{ name: 's', namespace: 'tenant-b', port: 80 }] }],
        },
      },
    ],
  ];
  for (const [what, object] of attempts) {
    it(`denies ${what}`, async () => {
      expect(denied(await result('namespace-isolation', object))).toBe(true);
    });
  }

  it('denies a Traefik middleware named <namespace>-<name>@kubernetescrd whose namespace only starts like a shared one', async () => {
    const route: KubeObject = {
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'IngressRoute',
      metadata: { name: 'r', namespace: 'tenant-a' },
      spec: {
        routes: [
          {
            match: 'Host(`a`)',
            services: [{ name: 's', port: 80 }],
            middlewares: [{ name: 'ingress-evil-auth@kubernetescrd' }],
          },
        ],
      },
    };
    const r = await result('namespace-isolation', route);
    expect(denied(r)).toBe(true);
    expect(r.findings[0]?.message).toContain('namespace "ingress-evil"');
    const shared = structuredClone(route);
    (getIn(shared, ['spec', 'routes', 0, 'middlewares', 0]) as Record<string, unknown>).name =
      'ingress-auth@kubernetescrd';
    expect((await result('namespace-isolation', shared)).status).toBe('pass');
  });

  it('denies a privileged ephemeral container added with kubectl debug', async () => {
    const before = pod({ containers: [{ name: 'a', image: 'x' }] });
    const after = pod({
      containers: [{ name: 'a', image: 'x' }],
      ephemeralContainers: [{ name: 'd', image: 'x', securityContext: { privileged: true } }],
    });
    const r = await result('namespace-isolation', after, {
      operation: 'UPDATE',
      oldObject: before,
      subresource: 'ephemeralcontainers',
    });
    expect(denied(r)).toBe(true);
  });

  it.each([
    [
      'ingress from the shared ingress namespace by name',
      networkPolicy([
        { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } }] },
      ]),
    ],
    ['ingress from a corporate /16', fromCidrs('10.20.0.0/16')],
    ['ingress from a /8', fromCidrs('10.0.0.0/8')],
    [
      'a Role with ordinary verbs on apiGroups *',
      role([{ apiGroups: ['*'], resources: ['configmaps'], verbs: ['get', 'list'] }]),
    ],
  ])('allows %s (control)', async (_what, object) => {
    expect((await result('namespace-isolation', object as KubeObject)).status).toBe('pass');
  });
});

// ------------------------------------------------------------------ no-public-databases

function service(spec: Record<string, unknown>, annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db', namespace: 'tenant-a', annotations },
    spec,
  };
}

describe('no-public-databases: exposures that must stay denied', () => {
  const postgres: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'pg', namespace: 'tenant-a' },
    spec: {
      selector: { matchLabels: { app: 'pg' } },
      template: {
        metadata: { labels: { app: 'pg' } },
        spec: {
          containers: [
            {
              name: 'pg',
              image: 'registry.corp.example/erp/postgres:16',
              ports: [{ name: 'sql', containerPort: 5432 }],
            },
          ],
        },
      },
    },
  };
  const attempts: Array<[string, KubeObject, KubeObject[]?]> = [
    ['a public LoadBalancer on 5432', service({ type: 'LoadBalancer', ports: [{ port: 5432 }] })],
    ['the port written as a string', service({ type: 'LoadBalancer', ports: [{ port: '5432' }] })],
    [
      'port 80 to targetPort "5432" (a string)',
      service({ type: 'LoadBalancer', ports: [{ port: 80, targetPort: '5432' }] }),
    ],
    [
      'a targetPort named postgresql',
      service({ type: 'LoadBalancer', ports: [{ port: 80, targetPort: 'postgresql' }] }),
    ],
    ['NodePort on 6379', service({ type: 'NodePort', ports: [{ port: 6379 }] })],
    [
      'a named targetPort resolved through the selector to a postgres pod',
      service({ type: 'LoadBalancer', selector: { app: 'pg' }, ports: [{ port: 15432, targetPort: 'sql' }] }),
      [postgres],
    ],
    [
      'Azure internal marker "True" (Azure requires exactly "true")',
      service(
        { type: 'LoadBalancer', ports: [{ port: 5432 }] },
        { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'True' },
      ),
    ],
    [
      'conflicting AWS markers (internal and internet-facing)',
      service(
        { type: 'LoadBalancer', ports: [{ port: 5432 }] },
        {
          'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
          'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
        },
      ),
    ],
    [
      'an internal load balancer open to 0.0.0.0/0',
      service(
        { type: 'LoadBalancer', ports: [{ port: 5432 }], loadBalancerSourceRanges: ['0.0.0.0/0'] },
        {
          'service.beta.kubernetes.io/azure-load-balancer-internal': 'true',
        },
      ),
    ],
    [
      'an internal load balancer that still allocates node ports',
      service(
        { type: 'LoadBalancer', ports: [{ port: 5432 }] },
        { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' },
      ),
    ],
    [
      'an internal load balancer with a pinned nodePort',
      service(
        {
          type: 'LoadBalancer',
          allocateLoadBalancerNodePorts: false,
          ports: [{ port: 5432, nodePort: 30432 }],
        },
        { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' },
      ),
    ],
    ['externalIPs on a database port', service({ ports: [{ port: 5432 }], externalIPs: ['203.0.113.7'] })],
    [
      'Traefik HostSNI(`*`) to port 5432',
      {
        apiVersion: 'traefik.io/v1alpha1',
        kind: 'IngressRouteTCP',
        metadata: { name: 'r', namespace: 'tenant-a' },
        spec: {
          entryPoints: ['websecure'],
          routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'db', port: 5432 }] }],
        },
      },
    ],
  ];
  for (const [what, object, related] of attempts) {
    it(`denies ${what}`, async () => {
      expect(
        denied(await result('no-public-databases', object, related ? { relatedObjects: related } : {})),
      ).toBe(true);
    });
  }

  it('allows an internal Azure load balancer with a private source range (control)', async () => {
    const object = service(
      {
        type: 'LoadBalancer',
        allocateLoadBalancerNodePorts: false,
        ports: [{ port: 5432 }],
        loadBalancerSourceRanges: ['10.0.0.0/16'],
      },
      {
        'service.beta.kubernetes.io/azure-load-balancer-internal': 'true',
      },
    );
    expect((await result('no-public-databases', object)).status).toBe('pass');
  });
});

// ------------------------------------------------------------------ freeze-windows

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

async function testOnlyKeys(): Promise<
  Array<{ kid: string; alg: string; key: Awaited<ReturnType<typeof importJWK>> }>
> {
  const dir = new URL('policies/freeze-windows/samples/keys/', root);
  return Promise.all(
    readdirSync(dir)
      .filter((file) => file.startsWith('TEST-ONLY.') && file.endsWith('.jwk.json'))
      .map(async (file) => {
        const jwk = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as JWK & {
          kid: string;
          alg: string;
        };
        return { kid: jwk.kid, alg: jwk.alg, key: await importJWK(jwk, jwk.alg) };
      }),
  );
}

/** A break-glass token signed by two TEST-ONLY approvers (the demo bundle's approvers). */
async function token(scope: BreakGlassClaims['scope']): Promise<string> {
  let jws = createRequest({
    requester: 'alice@corp.example',
    ticket: 'INC-4711',
    reason: 'payment run fails',
    scope,
    nbf: seconds(inFreeze) - 3600,
    exp: seconds(inFreeze) + 4 * 3600,
  });
  for (const signer of (await testOnlyKeys()).slice(0, 2))
    jws = await addApproval(jws, signer.key, { alg: signer.alg, kid: signer.kid });
  return JSON.stringify(jws);
}

function odoo(
  namespace = 'tenant-a',
  extra: { annotations?: Record<string, string>; replicas?: number; status?: unknown } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'odoo',
      namespace,
      resourceVersion: '1',
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      replicas: extra.replicas ?? 2,
      selector: { matchLabels: { app: 'odoo' } },
      template: {
        metadata: { labels: { app: 'odoo' } },
        spec: { containers: [{ name: 'odoo', image: 'registry.corp.example/erp/odoo:17' }] },
      },
    },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

describe('freeze-windows: changes during the close that must stay denied', () => {
  const frozen = { now: inFreeze, bundle: demo } as const;
  const scope = { namespaces: ['tenant-a'], kinds: ['Deployment'], names: ['odoo'] };

  it('an UPDATE that changes a field together with status is a change', async () => {
    const r = await result('freeze-windows', odoo('tenant-a', { replicas: 5, status: { replicas: 5 } }), {
      ...frozen,
      operation: 'UPDATE',
      oldObject: odoo('tenant-a', { status: { replicas: 2 } }),
    });
    expect(denied(r)).toBe(true);
  });

  it('an UPDATE of status, resourceVersion and managedFields only is no change (control)', async () => {
    const after = odoo('tenant-a', { status: { replicas: 2, readyReplicas: 2 } });
    (after.metadata as Record<string, unknown>).resourceVersion = '2';
    (after.metadata as Record<string, unknown>).managedFields = [{ manager: 'kube-controller-manager' }];
    const r = await result('freeze-windows', after, {
      ...frozen,
      operation: 'UPDATE',
      oldObject: odoo('tenant-a', { status: { replicas: 1 } }),
    });
    expect(r.status).toBe('skip');
  });

  it('an UPDATE that only adds a label is a change', async () => {
    const after = odoo();
    (after.metadata as Record<string, unknown>).labels = { touched: 'yes' };
    expect(
      denied(await result('freeze-windows', after, { ...frozen, operation: 'UPDATE', oldObject: odoo() })),
    ).toBe(true);
  });

  it('a DELETE is frozen', async () => {
    expect(denied(await result('freeze-windows', odoo(), { ...frozen, operation: 'DELETE' }))).toBe(true);
  });

  it('a CREATE outside a production namespace is not frozen (control)', async () => {
    expect((await result('freeze-windows', odoo('tenant-a-staging'), frozen)).status).toBe('skip');
  });

  it('a valid token on the new object unfreezes the change (control)', async () => {
    const after = odoo('tenant-a', {
      replicas: 5,
      annotations: { [breakGlassAnnotation]: await token(scope) },
    });
    const r = await result('freeze-windows', after, { ...frozen, operation: 'UPDATE', oldObject: odoo() });
    expect(r.status).toBe('pass');
    expect(r.records?.[0]?.kind).toBe('break-glass');
  });

  it('a token on the old object only does not unfreeze an UPDATE that drops it', async () => {
    const before = odoo('tenant-a', { annotations: { [breakGlassAnnotation]: await token(scope) } });
    const r = await result('freeze-windows', odoo('tenant-a', { replicas: 5 }), {
      ...frozen,
      operation: 'UPDATE',
      oldObject: before,
    });
    expect(denied(r)).toBe(true);
  });

  it('a token scoped to tenant-a is refused in tenant-b', async () => {
    const after = odoo('tenant-b', {
      replicas: 5,
      annotations: { [breakGlassAnnotation]: await token(scope) },
    });
    const r = await result('freeze-windows', after, {
      ...frozen,
      operation: 'UPDATE',
      oldObject: odoo('tenant-b'),
    });
    expect(denied(r)).toBe(true);
    expect(r.findings.map((f) => f.message).join(' ')).toContain('tenant-b is outside the token');
  });

  it('a token scoped to the Deployment is refused on another kind', async () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'odoo',
        namespace: 'tenant-a',
        annotations: { [breakGlassAnnotation]: await token(scope) },
      },
      stringData: { password: 'x' },
    };
    expect(denied(await result('freeze-windows', secret, frozen))).toBe(true);
  });

  it('kubectl debug (an UPDATE of pods/ephemeralcontainers) is a change during the close', async () => {
    const before: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'tenant-a' },
      spec: { containers: [{ name: 'a', image: 'x' }] },
    };
    const after: KubeObject = {
      ...before,
      spec: { containers: [{ name: 'a', image: 'x' }], ephemeralContainers: [{ name: 'debug', image: 'x' }] },
    };
    const r = await result('freeze-windows', after, {
      ...frozen,
      operation: 'UPDATE',
      oldObject: before,
      subresource: 'ephemeralcontainers',
    });
    expect(denied(r)).toBe(true);
  });

  // The engine freezes a Scale; the chart sends `*/scale` UPDATEs and the webhook evaluates them
  // (test/e2e/freeze.e2e.test.ts scales a Deployment through the API server during the close).
  it('kubectl scale (an UPDATE of deployments/scale) is a change during the close', async () => {
    const scale = (replicas: number): KubeObject => ({
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'odoo', namespace: 'tenant-a' },
      spec: { replicas },
    });
    const r = await result('freeze-windows', scale(0), {
      ...frozen,
      operation: 'UPDATE',
      oldObject: scale(2),
      subresource: 'scale',
    });
    expect(denied(r)).toBe(true);
  });

  it('compares objects nested 10 000 deep (as the API server accepts) without overflowing', async () => {
    const nested = (leaf: number): KubeObject => {
      let value: unknown = { leaf };
      for (let i = 0; i < 10_000; i++) value = { a: value };
      return {
        apiVersion: 'example.com/v1',
        kind: 'Workflow',
        metadata: { name: 'w', namespace: 'tenant-a' },
        spec: { deep: value },
      };
    };
    const outside = await result('freeze-windows', nested(2), {
      bundle: demo,
      operation: 'UPDATE',
      oldObject: nested(1),
    });
    expect(outside.status).toBe('skip');
    const same = await result('freeze-windows', nested(1), {
      ...frozen,
      operation: 'UPDATE',
      oldObject: nested(1),
    });
    expect(same.status).toBe('skip');
    const changed = await result('freeze-windows', nested(2), {
      ...frozen,
      operation: 'UPDATE',
      oldObject: nested(1),
    });
    expect(denied(changed)).toBe(true);
  });

  it('a Namespace that drops its production label during the close is frozen', async () => {
    const ns = (labels: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'tenant-a', labels },
    });
    const r = await result('freeze-windows', ns({}), {
      ...frozen,
      operation: 'UPDATE',
      oldObject: ns({ 'tollgate.dev/environment': 'production' }),
    });
    expect(denied(r)).toBe(true);
  });

  it('the finance baseline freezes the same change too (no break-glass configured there)', async () => {
    const after = odoo('tenant-a', {
      replicas: 5,
      annotations: { [breakGlassAnnotation]: await token(scope) },
    });
    expect(
      denied(
        await result('freeze-windows', after, { now: inFreeze, operation: 'UPDATE', oldObject: odoo() }),
      ),
    ).toBe(true);
  });
});

// ------------------------------------------------------------------ CI reads manifests as kubectl does

describe('tollgate check reads YAML scalars as kubectl and Helm do (go-yaml v2)', () => {
  const manifest = (lines: string[]) =>
    parseManifests('m.yaml', lines.join('\n')).manifests[0]?.object as KubeObject;

  it.each(['yes', 'on', 'Y', 'ON'])(
    'denies hostNetwork: %s (the cluster runs it as true)',
    async (spelling) => {
      const object = manifest([
        'apiVersion: v1',
        'kind: Pod',
        'metadata: {name: p, namespace: tenant-a}',
        'spec:',
        `  hostNetwork: ${spelling}`,
        '  containers: [{name: a, image: registry.corp.example/erp/odoo:17}]',
      ]);
      expect(denied(await result('namespace-isolation', object))).toBe(true);
    },
  );

  it('denies privileged: Yes', async () => {
    const object = manifest([
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: p, namespace: tenant-a}',
      'spec:',
      '  containers: [{name: a, image: x, securityContext: {privileged: Yes}}]',
    ]);
    expect(denied(await result('namespace-isolation', object))).toBe(true);
  });

  it('denies a public LoadBalancer on port 012470 (octal 5432)', async () => {
    const object = manifest([
      'apiVersion: v1',
      'kind: Service',
      'metadata: {name: db, namespace: tenant-a}',
      'spec: {type: LoadBalancer, ports: [{port: 012470}]}',
    ]);
    expect(denied(await result('no-public-databases', object))).toBe(true);
  });

  it('a quoted "yes" stays a string, as in the cluster (control)', async () => {
    const object = manifest([
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: p, namespace: tenant-a}',
      'spec:',
      '  hostNetwork: "yes"',
      '  containers: [{name: a, image: x}]',
    ]);
    expect((object.spec as Record<string, unknown>).hostNetwork).toBe('yes');
  });
});

describe('issue 12 class 5: containers and ports that CRDs carry, and references Traefik joins (baseline)', () => {
  const tekton = (kind: string, spec: Record<string, unknown>, apiVersion = 'tekton.dev/v1'): KubeObject => ({
    apiVersion,
    kind,
    metadata: { name: 'x', namespace: 'tenant-a' },
    spec,
  });
  const kruise = (kind: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'apps.kruise.io/v1alpha1',
    kind,
    metadata: { name: 'x', namespace: 'tenant-a' },
    spec,
  });
  const approved = 'registry.corp.example/erp/builder@sha256:' + 'a'.repeat(64);
  const attempts: Array<[string, string, KubeObject]> = [
    [
      'approved-registries',
      'a Tekton step image from Docker Hub in an embedded Pipeline task',
      tekton('Pipeline', { tasks: [{ name: 'a', taskSpec: { steps: [{ name: 's', image: 'busybox' }] } }] }),
    ],
    [
      'approved-registries',
      'a stepTemplate image that every imageless step runs',
      tekton('Task', { stepTemplate: { image: 'evil.example/x:1' }, steps: [{ name: 's', script: 'id' }] }),
    ],
    [
      'approved-registries',
      'a Tekton StepAction image',
      tekton('StepAction', { image: 'busybox' }, 'tekton.dev/v1beta1'),
    ],
    ['approved-registries', 'an OpenKruise ImagePullJob image', kruise('ImagePullJob', { image: 'busybox' })],
    [
      'namespace-isolation',
      'a privileged Tekton sidecar',
      tekton('Task', {
        steps: [{ name: 's', image: approved }],
        sidecars: [{ name: 'dind', image: approved, securityContext: { privileged: true } }],
      }),
    ],
    [
      'namespace-isolation',
      'privileged through a Tekton stepTemplate',
      tekton('Task', {
        stepTemplate: { securityContext: { privileged: true } },
        steps: [{ name: 's', image: approved }],
      }),
    ],
    [
      'namespace-isolation',
      'a privileged ephemeral container of an OpenKruise EphemeralJob',
      kruise('EphemeralJob', {
        selector: { matchLabels: { app: 'odoo' } },
        template: {
          ephemeralContainers: [{ name: 'd', image: approved, securityContext: { privileged: true } }],
        },
      }),
    ],
    [
      'resource-limits',
      'a TaskRun stepSpecs memory limit of 1Ti',
      tekton('TaskRun', {
        taskRef: { name: 'build' },
        stepSpecs: [{ name: 's', computeResources: { limits: { memory: '1Ti' } } }],
      }),
    ],
    [
      'namespace-isolation',
      'an Istio AuthorizationPolicy whose only source is notPrincipals',
      {
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'x', namespace: 'tenant-a' },
        spec: { rules: [{ from: [{ source: { notPrincipals: ['cluster.local/ns/tenant-a/sa/x'] } }] }] },
      },
    ],
    [
      'no-public-databases',
      'an Istio VirtualService bound to the ingress gateway forwarding to PostgreSQL',
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'x', namespace: 'tenant-a' },
        spec: {
          gateways: ['istio-system/ingressgateway'],
          tcp: [{ route: [{ destination: { host: 'db', port: { number: 5432 } } }] }],
        },
      },
    ],
    [
      'no-public-databases',
      'an Istio EnvoyFilter adding a gateway listener on 5432',
      {
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'EnvoyFilter',
        metadata: { name: 'x', namespace: 'tenant-a' },
        spec: {
          configPatches: [
            {
              applyTo: 'LISTENER',
              match: { context: 'GATEWAY' },
              patch: { operation: 'ADD', value: { address: { socket_address: { port_value: 5432 } } } },
            },
          ],
        },
      },
    ],
    [
      'namespace-isolation',
      'a Traefik middleware "evil-auth" of the shared ingress namespace, which Traefik names like "auth" of ingress-evil',
      {
        apiVersion: 'traefik.io/v1alpha1',
        kind: 'IngressRoute',
        metadata: { name: 'r', namespace: 'tenant-a' },
        spec: {
          routes: [
            {
              match: 'Host(`a`)',
              services: [{ name: 's', port: 80 }],
              middlewares: [{ name: 'evil-auth', namespace: 'ingress' }],
            },
          ],
        },
      },
    ],
  ];
  for (const [policy, what, object] of attempts)
    it(`${policy} denies ${what}`, async () => {
      expect(denied(await result(policy, object))).toBe(true);
    });
});
