/**
 * The drift audit against the real API server: `tollgate audit --write-reports --git` after five
 * things an admission webhook cannot see: a Pod admitted while the webhook was down, a bundle
 * tightened after admission, a `kubectl edit` on a GitOps-managed Deployment, a Pod whose image tag
 * moved (status set through the status subresource), and a break-glass change during month-end
 * close. Each appears in the PolicyReports (applied to the vendored CRD, so the API server validates
 * them) and in the drift report with the field, the values and the field manager.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from './harness.ts';
import { KubeClient, type KubeObject } from './kube.ts';
import { toolPath } from './tools.ts';
import {
  breakGlassToken,
  installPolicyReportCrds,
  chartWebhookConfiguration,
  ensureNamespace,
  nodeBin,
  registerWebhook,
  repoRoot,
  unregisterWebhook,
} from './tollgate.ts';

const cluster = inject('cluster');
const kube = new KubeClient(cluster);
const NS = 'e2e-audit';
const FROZEN = 'e2e-audit-frozen';
/** Monday 2026-11-30, inside the November close of the bundle's de-gmbh entity. */
const IN_CLOSE = '2026-11-30T12:00:00+01:00';
const GITOPS = 'argocd-controller';
const bundle = join(repoRoot, 'test', 'e2e', 'fixtures', 'audit-bundle.yaml');
const release = 'tollgate-e2e-audit';
const REPORTS = '/apis/wgpolicyk8s.io/v1alpha2';
const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
let gitDir: string;
let tightened: string;

function deployment(name: string, image: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image, ...extra }] },
      },
    },
  };
}

/** What Git declares, by file. */
const git: Record<string, KubeObject & { metadata: { name: string; namespace: string } }> = {
  'payments/ledger.yaml': {
    ...deployment('ledger', 'registry.corp.example/erp/ledger:2.1', {
      env: [{ name: 'LOG_LEVEL', value: 'info' }],
      // written as Git writes it; the API server stores 500m
      resources: { limits: { cpu: '0.5', memory: '256Mi' } },
    }),
    metadata: { name: 'ledger', namespace: NS, labels: { app: 'ledger' } },
  },
  'payments/payments.yaml': {
    ...deployment('payments', 'registry.corp.example/erp/payments:1.4'),
    metadata: { name: 'payments', namespace: NS, labels: { app: 'payments' } },
  },
  'payments/reports.yaml': {
    ...deployment('reports', 'registry.corp.example/legacy/reports:3.0'),
    metadata: { name: 'reports', namespace: NS, labels: { app: 'reports' } },
  },
  'payments/ledger-config.yaml': {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'ledger-config', namespace: NS },
    data: { currency: 'EUR' },
  },
  'settlement/settlement.yaml': {
    ...deployment('settlement', 'registry.corp.example/erp/settlement:5.0'),
    metadata: { name: 'settlement', namespace: FROZEN, labels: { app: 'settlement' } },
  },
};

function collection(object: KubeObject): string {
  const ns = object.metadata?.namespace ?? NS;
  return object.apiVersion === 'v1'
    ? `/api/v1/namespaces/${ns}/${object.kind === 'Pod' ? 'pods' : 'configmaps'}`
    : `/apis/apps/v1/namespaces/${ns}/deployments`;
}

/** Server-side apply as a GitOps controller does it. */
async function gitopsApply(object: KubeObject): Promise<void> {
  const res = await kube.request('PATCH', `${collection(object)}/${object.metadata?.name ?? ''}`, object, {
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: GITOPS, force: 'true' },
  });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
}

function replicaSetPod(name: string, app: string, image: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { app },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${app}-7d9f`,
          uid: '00000000-0000-4000-8000-000000000001',
          controller: true,
        },
      ],
    },
    spec: { containers: [{ name: 'app', image }] },
  };
}

/** Creates a Pod as its ReplicaSet would and reports the digest it runs through the status subresource. */
async function startPod(name: string, app: string, image: string, imageID: string): Promise<void> {
  expect((await kube.create(`/api/v1/namespaces/${NS}/pods`, replicaSetPod(name, app, image))).status).toBe(
    201,
  );
  const status = await kube.patch(`/api/v1/namespaces/${NS}/pods/${name}/status`, {
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'app',
          image,
          imageID,
          ready: true,
          restartCount: 0,
          state: { running: { startedAt: '2026-11-20T08:00:00Z' } },
        },
      ],
    },
  });
  expect(status.status, JSON.stringify(status.body)).toBe(200);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tollgate audit` of the two namespaces at IN_CLOSE, as the e2e admin (or with another kubeconfig). */
function audit(args: readonly string[], kubeconfig = cluster.kubeconfigFile): Run {
  return tollgate([
    'audit',
    `--kubeconfig=${kubeconfig}`,
    `--namespace=${NS}`,
    `--namespace=${FROZEN}`,
    `--now=${IN_CLOSE}`,
    '--offline',
    ...args,
  ]);
}

function tollgate(args: readonly string[]): Run {
  const result = spawnSync(nodeBin, [join(repoRoot, 'bin', 'tollgate.js'), ...args], {
    cwd: gitDir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface AuditJson {
  clusterScopedNotAudited?: string[];
  summary: {
    denied: number;
    drift: Record<string, number>;
    breakGlass?: { open: number; resolved: number };
  };
  objects: Array<{
    object: { kind: string; name: string; namespace?: string };
    results: Array<{ policy: string; status: string; records?: Array<Record<string, unknown>> }>;
  }>;
  drift: {
    entries: Array<{
      type: string;
      object: { kind: string; name: string; namespace?: string };
      source?: { file: string; line?: number };
      changedBy?: { manager: string };
      fields?: Array<{ path: string; declared: unknown; live?: unknown; changedBy?: { manager: string } }>;
      image?: { declared?: string; live: string; running: Array<{ digest: string; pods: string[] }> };
    }>;
    breakGlass: Array<{
      object: { kind: string; name: string; namespace?: string };
      state: string;
      ticket?: string;
      requester?: string;
      approvers: string[];
      changedBy?: { manager: string };
      fields: Array<{ path: string }>;
    }>;
  };
}

function json(run: Run): AuditJson {
  expect(run.stderr).not.toContain('error');
  return JSON.parse(run.stdout) as AuditJson;
}

interface ReportResult {
  policy: string;
  rule?: string;
  result: string;
  message: string;
  resources: Array<{ kind: string; name: string; uid?: string }>;
  properties?: Record<string, string>;
}

async function report(namespace: string): Promise<{ resourceVersion: string; results: ReportResult[] }> {
  const res = await kube.get<{ metadata: { resourceVersion: string }; results?: ReportResult[] }>(
    `${REPORTS}/namespaces/${namespace}/policyreports/tollgate-audit`,
  );
  expect(res.status).toBe(200);
  return { resourceVersion: res.body.metadata.resourceVersion, results: res.body.results ?? [] };
}

const about = (results: readonly ReportResult[], name: string) =>
  results.filter((r) => r.resources.some((resource) => resource.name === name));

beforeAll(async () => {
  await installPolicyReportCrds(kube);
  await ensureNamespace(kube, NS);
  await ensureNamespace(kube, FROZEN);
  gitDir = join(cluster.dir, 'audit-git');
  for (const [file, object] of Object.entries(git)) {
    mkdirSync(join(gitDir, file, '..'), { recursive: true });
    writeFileSync(join(gitDir, file), JSON.stringify(object, null, 2));
    if (object.kind !== 'ConfigMap') await gitopsApply(object); // the ConfigMap never synced
  }
  tightened = join(cluster.dir, 'audit-bundle-tightened.yaml');
  writeFileSync(
    tightened,
    readFileSync(bundle, 'utf8')
      .replace('        - registry.corp.example/legacy\n', '')
      .replace('version: 1.0.0', 'version: 1.1.0'),
  );

  // 1. The webhook is down (registered, nothing listening, failurePolicy Ignore): a Pod gets in.
  await registerWebhook(
    kube,
    chartWebhookConfiguration({
      release,
      url: `https://127.0.0.1:${await freePort()}/validate`,
      caPem: readFileSync(cluster.caFile, 'utf8'),
      failurePolicy: 'Ignore',
      timeoutSeconds: 2,
    }),
  );
  const rogue = await kube.request(
    'POST',
    `/api/v1/namespaces/${NS}/pods`,
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'rogue' },
      spec: { containers: [{ name: 'app', image: 'nginx:latest' }] },
    },
    { query: { fieldManager: 'kubectl-run' } },
  );
  expect(rogue.status).toBe(201);
  await unregisterWebhook(kube, release);

  // 3. A human edits the GitOps-managed ledger (kubectl edit sends an Update as kubectl-edit).
  const edit = await kube.request(
    'PATCH',
    `/apis/apps/v1/namespaces/${NS}/deployments/ledger`,
    {
      spec: {
        replicas: 5,
        template: { spec: { containers: [{ name: 'app', env: [{ name: 'LOG_LEVEL', value: 'debug' }] }] } },
      },
    },
    { contentType: 'application/strategic-merge-patch+json', query: { fieldManager: 'kubectl-edit' } },
  );
  expect(edit.status, JSON.stringify(edit.body)).toBe(200);

  // 4. The tag payments:1.4 moved between the starts of two Pods.
  await startPod(
    'payments-7d9f-a',
    'payments',
    'registry.corp.example/erp/payments:1.4',
    `registry.corp.example/erp/payments@${DIGEST_A}`,
  );
  await startPod(
    'payments-7d9f-b',
    'payments',
    'registry.corp.example/erp/payments:1.4',
    `registry.corp.example/erp/payments@${DIGEST_B}`,
  );

  // 5. During the close, an engineer rolls settlement forward under a break-glass approval.
  const token = breakGlassToken(cluster.dir, { namespace: FROZEN, kind: 'Deployment', name: 'settlement' });
  const breakGlass = await kube.request(
    'PATCH',
    `/apis/apps/v1/namespaces/${FROZEN}/deployments/settlement`,
    {
      metadata: { annotations: { 'tollgate.dev/break-glass': token } },
      spec: {
        template: {
          spec: { containers: [{ name: 'app', image: 'registry.corp.example/erp/settlement:5.0.1' }] },
        },
      },
    },
    { contentType: 'application/strategic-merge-patch+json', query: { fieldManager: 'kubectl-edit' } },
  );
  expect(breakGlass.status, JSON.stringify(breakGlass.body)).toBe(200);
});

afterAll(() => {
  kube.close();
});

describe('tollgate audit against the real API server', () => {
  let first: AuditJson;

  it('judges what got in while the webhook was down, and writes validated PolicyReports', async () => {
    const run = audit(['--bundle', bundle, '--git', '.', '--format', 'json', '--write-reports']);
    expect(run.code, run.stderr).toBe(1);
    // Reports tollgate has not written yet are created, not applied.
    expect(run.stderr).toMatch(/wrote (\d+) report\(s\) \(\1 created/);
    first = json(run);
    const rogue = first.objects.find((o) => o.object.name === 'rogue');
    expect(rogue?.results.find((r) => r.policy === 'approved-registries')?.status).toBe('fail');
    const undeclared = first.drift.entries.find((e) => e.type === 'undeclared' && e.object.name === 'rogue');
    expect(undeclared?.changedBy?.manager).toBe('kubectl-run');
    const results = about((await report(NS)).results, 'rogue');
    expect(results.map((r) => [r.policy, r.result])).toEqual(
      expect.arrayContaining([
        ['approved-registries', 'fail'],
        ['tollgate-drift', 'fail'],
      ]),
    );
    expect(results.find((r) => r.rule === 'undeclared')?.properties?.['manager']).toBe('kubectl-run');
    // Pods a controller owns are never "undeclared"; the never-synced ConfigMap is missing.
    expect(first.drift.entries.filter((e) => e.type === 'undeclared').map((e) => e.object.name)).toEqual([
      'rogue',
    ]);
    const missing = first.drift.entries.find((e) => e.type === 'missing');
    expect([missing?.object.kind, missing?.object.name, missing?.source?.file]).toEqual([
      'ConfigMap',
      'ledger-config',
      'payments/ledger-config.yaml',
    ]);
  });

  it('names the field, both values and the human field manager of a kubectl edit', async () => {
    const ledger = first.drift.entries.find((e) => e.type === 'fields' && e.object.name === 'ledger');
    expect(ledger?.fields).toEqual([
      {
        path: 'spec.replicas',
        declared: 2,
        live: 5,
        changedBy: expect.objectContaining({ manager: 'kubectl-edit' }),
      },
      {
        path: 'spec.template.spec.containers[0].env[0].value',
        declared: 'info',
        live: 'debug',
        changedBy: expect.objectContaining({ manager: 'kubectl-edit' }),
      },
    ]);
    // cpu: "0.5" in Git is stored as 500m: not drift; neither is anything the API server defaulted.
    const fields = about((await report(NS)).results, 'ledger').filter((r) => r.rule === 'fields');
    expect(fields.map((r) => r.properties)).toEqual([
      expect.objectContaining({
        field: 'spec.replicas',
        declared: '2',
        live: '5',
        manager: 'kubectl-edit',
        source: 'payments/ledger.yaml:1',
      }),
      expect.objectContaining({
        field: 'spec.template.spec.containers[0].env[0].value',
        declared: '"info"',
        live: '"debug"',
        manager: 'kubectl-edit',
      }),
    ]);
  });

  it('shows a tag that moved after admission from the digests the Pods run', async () => {
    const image = first.drift.entries.find((e) => e.type === 'image' && e.object.name === 'payments');
    expect(image?.image).toMatchObject({
      declared: 'registry.corp.example/erp/payments:1.4',
      live: 'registry.corp.example/erp/payments:1.4',
      running: [
        { digest: DIGEST_A, pods: ['payments-7d9f-a'] },
        { digest: DIGEST_B, pods: ['payments-7d9f-b'] },
      ],
    });
    const result = about((await report(NS)).results, 'payments').find((r) => r.rule === 'image');
    expect(result?.message).toContain('the tag moved');
    expect(result?.properties?.['running']).toContain(DIGEST_B);
  });

  it('records a break-glass change: the approval used, and the drift with its manager', async () => {
    const settlement = first.objects.find((o) => o.object.name === 'settlement');
    const freeze = settlement?.results.find((r) => r.policy === 'freeze-windows');
    expect(freeze?.status).toBe('pass');
    expect(JSON.stringify(freeze?.records)).toContain('CHG-4711');
    const drift = first.drift.entries.find((e) => e.object.name === 'settlement' && e.type === 'fields');
    expect(drift?.fields).toEqual([
      {
        path: 'spec.template.spec.containers[0].image',
        declared: 'registry.corp.example/erp/settlement:5.0',
        live: 'registry.corp.example/erp/settlement:5.0.1',
        changedBy: expect.objectContaining({ manager: 'kubectl-edit' }),
      },
    ]);
    const results = about((await report(FROZEN)).results, 'settlement');
    expect(results.find((r) => r.policy === 'freeze-windows')?.properties?.['record.ticket']).toBe(
      'CHG-4711',
    );
    expect(results.find((r) => r.rule === 'fields')?.properties).toMatchObject({
      declared: '"registry.corp.example/erp/settlement:5.0"',
      live: '"registry.corp.example/erp/settlement:5.0.1"',
      manager: 'kubectl-edit',
    });
    // Tracked until Git matches: open, with the ticket, its approvers and what still differs.
    expect(first.drift.breakGlass).toEqual([
      expect.objectContaining({
        object: expect.objectContaining({ kind: 'Deployment', namespace: FROZEN, name: 'settlement' }),
        state: 'open',
        ticket: 'CHG-4711',
        requester: 'alice@corp.example',
        approvers: ['controller-de@corp.example', 'controller-us@corp.example'],
        changedBy: expect.objectContaining({ manager: 'kubectl-edit' }),
        fields: [expect.objectContaining({ path: 'spec.template.spec.containers[0].image' })],
      }),
    ]);
    expect(first.summary.breakGlass).toEqual({ open: 1, resolved: 0 });
    const tracked = results.find((r) => r.policy === 'tollgate-break-glass');
    expect([tracked?.rule, tracked?.result, tracked?.properties?.['ticket']]).toEqual([
      'open',
      'warn',
      'CHG-4711',
    ]);
  });

  it('is idempotent, judges with a tightened bundle, and forgets objects that are gone', async () => {
    const before = await report(NS);
    // An hour later nothing changed: each result keeps the time it was first reported and no report
    // is sent again (with --namespace only the two namespaces' PolicyReports are written).
    const rerun = audit([
      '--bundle',
      bundle,
      '--git',
      '.',
      '--format',
      'json',
      '--write-reports',
      '--now=2026-11-30T13:00:00+01:00',
    ]);
    expect(rerun.code).toBe(1);
    expect(rerun.stderr).toMatch(
      /wrote 0 report\(s\) \(0 created, the rest by server-side apply; field manager tollgate\), 2 unchanged/,
    );
    const after = await report(NS);
    expect(after.resourceVersion).toBe(before.resourceVersion);
    expect(after.results).toEqual(before.results);

    // 2. The bundle drops the legacy registry after reports was admitted.
    expect(about(before.results, 'reports').filter((r) => r.policy === 'approved-registries')).toEqual([]);
    const run = audit(['--bundle', tightened, '--git', '.', '--format', 'text', '--write-reports']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('namespace e2e-audit');
    expect(run.stdout).toMatch(/Deployment\/reports\s+approved-registries\s+fail\s+deny/);
    const tightenedResults = about((await report(NS)).results, 'reports');
    expect(tightenedResults.find((r) => r.policy === 'approved-registries')?.result).toBe('fail');

    expect((await kube.delete(`/api/v1/namespaces/${NS}/pods/rogue`)).status).toBe(200);
    expect(audit(['--bundle', tightened, '--git', '.', '--format', 'json', '--write-reports']).code).toBe(1);
    expect(about((await report(NS)).results, 'rogue')).toEqual([]);
  });

  it('with --namespace, names the cluster-scoped kinds it did not audit', () => {
    // The finance baseline judges ClusterRoles and ClusterRoleBindings (namespace-isolation).
    const run = audit(['--format', 'json']);
    const result = json(run);
    expect(result.clusterScopedNotAudited).toEqual(
      expect.arrayContaining([
        'rbac.authorization.k8s.io/v1/clusterroles',
        'rbac.authorization.k8s.io/v1/clusterrolebindings',
      ]),
    );
    expect(result.objects.filter((o) => o.object.namespace === undefined).map((o) => o.object.kind)).toEqual([
      'Namespace',
      'Namespace',
    ]);
    expect(audit(['--format', 'text']).stdout).toMatch(
      /not audited \(cluster-scoped; --namespace audits only namespaced objects and those Namespaces\): .*rbac\.authorization\.k8s\.io\/v1\/clusterroles/,
    );
  });

  it('closes the break-glass change once Git has caught up with it', async () => {
    // The fix is committed to Git and the GitOps controller syncs it; the annotation stays.
    const caughtUp = {
      ...deployment('settlement', 'registry.corp.example/erp/settlement:5.0.1'),
      metadata: { name: 'settlement', namespace: FROZEN, labels: { app: 'settlement' } },
    };
    writeFileSync(join(gitDir, 'settlement/settlement.yaml'), JSON.stringify(caughtUp, null, 2));
    await gitopsApply(caughtUp);
    const run = audit(['--bundle', bundle, '--git', '.', '--format', 'json', '--write-reports']);
    const after = json(run);
    expect(after.drift.entries.filter((e) => e.object.name === 'settlement')).toEqual([]);
    expect(after.drift.breakGlass.map((c) => [c.object.name, c.state, c.ticket, c.fields])).toEqual([
      ['settlement', 'resolved', 'CHG-4711', []],
    ]);
    expect(after.summary.breakGlass).toEqual({ open: 0, resolved: 1 });
    const tracked = about((await report(FROZEN)).results, 'settlement').find(
      (r) => r.policy === 'tollgate-break-glass',
    );
    expect([tracked?.rule, tracked?.result]).toEqual(['resolved', 'pass']);
    const text = audit(['--bundle', bundle, '--git', '.', '--format', 'text']).stdout;
    expect(text).toContain('break-glass changes until Git matches: 0 open, 1 resolved');
    expect(text).toMatch(
      /e2e-audit-frozen\/Deployment\/settlement\s+CHG-4711\s+alice@corp.example\s+resolved/,
    );
  });
});

describe('tenant-quotas in the drift audit', () => {
  const TENANT = 'e2e-audit-tenant';
  const auditTenant = (): Run =>
    tollgate([
      'audit',
      `--kubeconfig=${cluster.kubeconfigFile}`,
      `--namespace=${TENANT}`,
      `--now=${IN_CLOSE}`,
      '--offline',
      '--bundle',
      bundle,
      '--format',
      'json',
      '--write-reports',
    ]);

  it('reports a tenant namespace live without its ResourceQuota and LimitRange, with the fix, in its PolicyReport', async () => {
    // Created around the webhook (or before tenant-quotas joined the bundle): only the audit sees it.
    await ensureNamespace(kube, TENANT, { 'tollgate.dev/tenant': 'hooli' });
    const run = auditTenant();
    expect(run.code, run.stderr).toBe(1);
    const namespace = json(run).objects.find(
      (o) => o.object.kind === 'Namespace' && o.object.name === TENANT,
    );
    expect(namespace?.results.find((r) => r.policy === 'tenant-quotas')?.status).toBe('fail');
    // A --namespace run writes no ClusterPolicyReport: the Namespace's results are in its own report,
    // where the tenant can read them.
    const quota = about((await report(TENANT)).results, TENANT).find((r) => r.policy === 'tenant-quotas');
    expect(quota?.result).toBe('fail');
    expect(quota?.message).toContain(`tenant namespace "${TENANT}" has no ResourceQuota (in the cluster)`);
    expect(quota?.message).toContain(`tenant namespace "${TENANT}" has no LimitRange (in the cluster)`);
    expect(quota?.properties).toMatchObject({
      controls: 'SOX-ITGC-OPS-02',
      paths: 'metadata.name,metadata.name',
    });
    expect(quota?.properties?.['fix']).toContain(
      `add a ResourceQuota in namespace ${TENANT} with spec.hard requests.cpu, requests.memory, pods, services.loadbalancers (at most 0), services.nodeports (at most 0)`,
    );
    expect(quota?.properties?.['fix']).toContain(
      `add a LimitRange in namespace ${TENANT} with an item of type Container setting default and defaultRequest for cpu, memory`,
    );

    // The platform team applies the fix the report names; the next run finds nothing to say about it.
    expect(
      (
        await kube.create(`/api/v1/namespaces/${TENANT}/resourcequotas`, {
          apiVersion: 'v1',
          kind: 'ResourceQuota',
          metadata: { name: 'tenant' },
          spec: {
            hard: {
              'requests.cpu': '4',
              'requests.memory': '8Gi',
              pods: '50',
              'services.loadbalancers': '0',
              'services.nodeports': '0',
            },
          },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await kube.create(`/api/v1/namespaces/${TENANT}/limitranges`, {
          apiVersion: 'v1',
          kind: 'LimitRange',
          metadata: { name: 'defaults' },
          spec: {
            limits: [
              {
                type: 'Container',
                default: { cpu: '500m', memory: '256Mi' },
                defaultRequest: { cpu: '100m', memory: '128Mi' },
              },
            ],
          },
        })
      ).status,
    ).toBe(201);
    const fixed = auditTenant();
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).toMatch(/wrote 1 report\(s\) \(0 created/);
    const after = json(fixed).objects.find((o) => o.object.kind === 'Namespace' && o.object.name === TENANT);
    expect(after?.results.find((r) => r.policy === 'tenant-quotas')?.status).toBe('pass');
    expect((await report(TENANT)).results.filter((r) => r.policy === 'tenant-quotas')).toEqual([]);
  });
});

describe("the chart's audit component in the API server", () => {
  const chart = join(repoRoot, 'charts', 'tollgate');
  const chartNamespace = 'e2e-audit-chart';
  const chartRelease = 'audit-chart-e2e';
  const helm = (...args: string[]): string =>
    execFileSync(
      toolPath('helm'),
      [...args, '--kubeconfig', cluster.kubeconfigFile, '--namespace', chartNamespace],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );

  afterAll(() => {
    helm('uninstall', chartRelease);
  });

  it('installs as a CronJob, and its service account audits read-only: no Secrets, no writes but reports', async () => {
    // The webhook is installed too (the chart's core) with failurePolicy Ignore: no webhook Pod runs here.
    helm(
      'install',
      chartRelease,
      chart,
      '--create-namespace',
      '--set',
      'webhook.failurePolicy=Ignore',
      '--set',
      'audit.enabled=true',
      '--set',
      'audit.mode=cronjob',
      '--set',
      'audit.installCRDs=false',
      '--set',
      `audit.namespaces={${NS},${FROZEN}}`,
    );
    const cronJobs = await kube.get<{
      items: Array<{
        metadata: { name: string };
        spec: {
          schedule: string;
          jobTemplate: {
            spec: {
              template: { spec: { serviceAccountName: string; containers: Array<{ args: string[] }> } };
            };
          };
        };
      }>;
    }>(`/apis/batch/v1/namespaces/${chartNamespace}/cronjobs`);
    expect(cronJobs.status).toBe(200);
    const [cronJob] = cronJobs.body.items;
    expect(cronJob?.spec.schedule).toBe('*/30 * * * *');
    const pod = cronJob?.spec.jobTemplate.spec.template.spec;
    const serviceAccount = pod?.serviceAccountName ?? '';
    const args = pod?.containers[0]?.args ?? [];
    expect(args).toEqual([
      'audit',
      '--exit-zero',
      '--write-reports',
      `--namespace=${NS}`,
      `--namespace=${FROZEN}`,
    ]);

    // What the API server's RBAC lets the service account do.
    const user = `system:serviceaccount:${chartNamespace}:${serviceAccount}`;
    const may = async (verb: string, resource: string, group = '', namespace = NS): Promise<boolean> => {
      const res = await kube.create<{ status: { allowed: boolean } }>(
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user, resourceAttributes: { verb, resource, group, namespace } },
        },
      );
      expect(res.status).toBe(201);
      return res.body.status.allowed;
    };
    const allowed = async (checks: Array<[string, string, string?]>) =>
      Promise.all(
        checks.map(
          async ([verb, resource, group]) =>
            `${verb} ${group ?? ''}/${resource}: ${await may(verb, resource, group)}`,
        ),
      );
    expect(
      await allowed([
        ['list', 'deployments', 'apps'],
        ['list', 'pods'],
        ['list', 'clusterroles', 'rbac.authorization.k8s.io'],
        ['patch', 'policyreports', 'wgpolicyk8s.io'],
        ['create', 'policyreports', 'wgpolicyk8s.io'],
        ['get', 'secrets'],
        ['list', 'secrets'],
        ['update', 'deployments', 'apps'],
        ['patch', 'pods'],
        ['delete', 'configmaps'],
        ['create', 'pods/exec'],
        ['impersonate', 'users'],
      ]),
    ).toEqual([
      'list apps/deployments: true',
      'list /pods: true',
      'list rbac.authorization.k8s.io/clusterroles: true',
      'patch wgpolicyk8s.io/policyreports: true',
      'create wgpolicyk8s.io/policyreports: true',
      'get /secrets: false',
      'list /secrets: false',
      'update apps/deployments: false',
      'patch /pods: false',
      'delete /configmaps: false',
      'create /pods/exec: false',
      'impersonate /users: false',
    ]);

    // The CronJob's own command line, with a token of its service account: everything the bundle
    // judges is listed (nothing forbidden) and the reports are written.
    const token = await kube.create<{ status: { token: string } }>(
      `/api/v1/namespaces/${chartNamespace}/serviceaccounts/${serviceAccount}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    );
    expect(token.status).toBe(201);
    const kubeconfig = join(cluster.dir, 'audit-chart-sa.kubeconfig.yaml');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'e2e', cluster: { server: cluster.url, 'certificate-authority': cluster.caFile } },
        ],
        users: [{ name: 'audit', user: { token: token.body.status.token } }],
        contexts: [{ name: 'audit', context: { cluster: 'e2e', user: 'audit' } }],
        'current-context': 'audit',
      }),
    );
    const before = await report(NS);
    // FROZEN's report is gone (deleted by hand): the service account creates it again.
    expect((await kube.delete(`${REPORTS}/namespaces/${FROZEN}/policyreports/tollgate-audit`)).status).toBe(
      200,
    );
    const run = tollgate([
      ...args,
      `--kubeconfig=${kubeconfig}`,
      `--now=${IN_CLOSE}`,
      '--offline',
      '--format=json',
    ]);
    expect(run.code, run.stderr).toBe(0); // --exit-zero, although the finance baseline denies objects here
    expect(run.stderr).toMatch(/wrote \d+ report\(s\)/);
    const result = JSON.parse(run.stdout) as AuditJson & { forbidden: string[]; resources: string[] };
    // Nothing the chart grants is forbidden. The cluster is shared with the other e2e files, whose
    // schemaless CRDs (Traefik, Argo CD, Tekton, …) freeze-windows' rule on every kind also reaches:
    // the chart grants custom resources only through its rules or audit.extraReadRules, so those,
    // and only those, may be reported forbidden (the audit names what it could not list).
    expect(await notGrantedCustomResources(result.forbidden)).toEqual(result.forbidden);
    expect(result.summary.denied).toBeGreaterThan(0);
    expect(result.resources).toEqual(expect.arrayContaining(['apps/v1/deployments', 'v1/pods']));
    expect((await report(NS)).resourceVersion).not.toBe(before.resourceVersion);
    expect(run.stderr).toMatch(/wrote \d+ report\(s\) \(1 created/);
    expect((await report(FROZEN)).results.length).toBeGreaterThan(0);
  });
});

/**
 * The collection paths among `paths` that list a custom resource the chart's rules do not name:
 * `/apis/<group>/<version>[/namespaces/<ns>]/<resource>` where `<resource>.<group>` is a CRD of the
 * cluster and charts/tollgate/files/rules.yaml does not list it.
 */
async function notGrantedCustomResources(paths: readonly string[]): Promise<string[]> {
  const crds = await kube.get<{ items: Array<{ metadata: { name: string } }> }>(
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  );
  const custom = new Set(crds.body.items.map((crd) => crd.metadata.name));
  const rules = (
    parseYaml(readFileSync(new URL('../../charts/tollgate/files/rules.yaml', import.meta.url), 'utf8')) as {
      rules: Array<{ apiGroups: string[]; resources: string[] }>;
    }
  ).rules;
  const granted = (group: string, resource: string) =>
    rules.some((rule) => rule.apiGroups.includes(group) && rule.resources.includes(resource));
  return paths.filter((path) => {
    const match = /^\/apis\/([^/]+)\/[^/]+\/(?:namespaces\/[^/]+\/)?([^/]+)$/.exec(path);
    if (!match) return false;
    const [, group = '', resource = ''] = match;
    return custom.has(`${resource}.${group}`) && !granted(group, resource);
  });
}
