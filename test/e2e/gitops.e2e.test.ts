/**
 * GitOps change control through the API server: in a production namespace the same Deployment UPDATE
 * is denied for a person and allowed for Argo CD's application controller (impersonation headers from
 * the admin client); a person's emergency change with a valid break-glass token is allowed and lands
 * in the audit log as a change outside Git; a suspended Flux Kustomization in production is denied by
 * `tollgate check` and at admission. Each scenario prints what a user sees.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForAuditEvent } from './harness.ts';
import { KubeClient, type KubeStatus } from './kube.ts';
import {
  chartWebhookConfiguration,
  ensureNamespace,
  nodeBin,
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
const fixtures = join(repoRoot, 'test', 'e2e', 'fixtures');
const bundle = join(fixtures, 'gitops-bundle.yaml');
const keys = join(repoRoot, 'policies', 'freeze-windows', 'samples', 'keys');
const PROD = 'e2e-gitops-prod';
const NOW = '2026-11-20T12:00:00Z';
const release = 'tollgate-e2e-gitops';
const deployments = `/apis/apps/v1/namespaces/${PROD}/deployments`;
const kustomizations = `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${PROD}/kustomizations`;
let tollgate: TollgateServer;

/** system:masters keeps RBAC out of the way: what denies is the webhook, judging the username. */
const alice = { user: 'alice@corp.example', groups: ['system:masters', 'finance-sre'] };
const argocd = {
  user: 'system:serviceaccount:argocd:argocd-application-controller',
  groups: ['system:masters', 'system:serviceaccounts', 'system:serviceaccounts:argocd'],
};
const flux = {
  user: 'system:serviceaccount:flux-system:kustomize-controller',
  groups: ['system:masters', 'system:serviceaccounts', 'system:serviceaccounts:flux-system'],
};

const ledger = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'ledger',
    labels: { app: 'ledger' },
    annotations: { 'argocd.argoproj.io/tracking-id': `erp-ledger:apps/Deployment:${PROD}/ledger` },
  },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'ledger' } },
    template: {
      metadata: { labels: { app: 'ledger' } },
      spec: { containers: [{ name: 'ledger', image: 'registry.corp.example/erp/odoo:17.0' }] },
    },
  },
};

const suspended = {
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'erp', namespace: PROD },
  spec: {
    interval: '10m',
    path: './clusters/production/erp',
    prune: true,
    suspend: true,
    sourceRef: { kind: 'GitRepository', name: 'erp' },
  },
};

function messageOf(body: unknown): string {
  return (body as KubeStatus | undefined)?.message ?? '';
}

/** What each scenario printed, shown at the end of the run (and in the report of the issue). */
function show(scenario: string, text: string): void {
  process.stdout.write(`\n[gitops e2e] ${scenario}\n${text.trimEnd()}\n`);
}

function tollgateCli(args: readonly string[]): { status: number; stdout: string } {
  const run = spawnSync(nodeBin, [join(repoRoot, 'bin', 'tollgate.js'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return { status: run.status ?? -1, stdout: `${run.stdout}${run.stderr}` };
}

/** A break-glass token for Deployment ledger in PROD, requested by alice and approved by two others. */
function breakGlassToken(): string {
  const dir = mkdtempSync(join(cluster.dir, 'gitops-break-glass-'));
  const cli = (args: readonly string[]): void => {
    execFileSync(nodeBin, [join(repoRoot, 'bin', 'tollgate.js'), 'break-glass', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  };
  const request = join(dir, 'request.json');
  cli([
    'request',
    '--requester=alice@corp.example',
    '--ticket=INC-2048',
    '--reason=e2e: payment run stuck at month end, scale the ledger until the fix is merged',
    `--namespace=${PROD}`,
    '--kind=Deployment',
    '--name=ledger',
    '--not-before=2026-11-01T00:00:00Z',
    '--expires=2026-12-01T00:00:00Z',
    `--out=${request}`,
  ]);
  const once = join(dir, 'approved-1.json');
  const twice = join(dir, 'approved-2.json');
  cli([
    'approve',
    request,
    `--key=${join(keys, 'TEST-ONLY.controller-de@corp.example.private.jwk.json')}`,
    `--out=${once}`,
  ]);
  cli([
    'approve',
    once,
    `--key=${join(keys, 'TEST-ONLY.cfo@corp.example.private.jwk.json')}`,
    `--out=${twice}`,
  ]);
  return readFileSync(twice, 'utf8').trim();
}

/** Creates the CRDs of the fixture and waits until the API server serves them. */
async function installCrds(): Promise<void> {
  const crds = parseAllDocuments(readFileSync(join(fixtures, 'gitops-crds.yaml'), 'utf8')).map(
    (doc) => doc.toJS() as { metadata: { name: string } },
  );
  for (const crd of crds) {
    const res = await kube.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    if (res.status !== 201 && res.status !== 409)
      throw new Error(`creating CRD ${crd.metadata.name}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (
      (await kube.get(`/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${PROD}/kustomizations`)).status ===
      200
    )
      return;
    if (Date.now() > deadline) throw new Error('the GitOps CRDs are not served after 30 s');
    await sleep(250);
  }
}

beforeAll(async () => {
  // Before the webhook: creating a production namespace is itself reserved for GitOps.
  await ensureNamespace(kube, PROD, { 'tollgate.dev/environment': 'production' });
  await installCrds();
  tollgate = await startTollgate({ cluster, bundle, now: NOW });
  await registerWebhook(
    kube,
    chartWebhookConfiguration({ release, url: tollgate.url, caPem: tollgate.caPem }),
  );
  await waitForWebhook(kube, PROD, pod('probe', ['registry.corp.example/erp/odoo:17.0']));
});

afterAll(async () => {
  await unregisterWebhook(kube, release);
  await tollgate?.stop();
  kube.close();
});

describe('GitOps change control through the API server', () => {
  it('Argo CD creates the Deployment; a person may not', async () => {
    const byPerson = await kube.create(deployments, ledger, { impersonate: alice });
    show('CREATE Deployment ledger as alice@corp.example', `${byPerson.status} ${messageOf(byPerson.body)}`);
    expect(byPerson.status).toBe(403);
    const byArgo = await kube.create(deployments, ledger, { impersonate: argocd });
    show('CREATE Deployment ledger as Argo CD application controller', `${byArgo.status}`);
    expect(byArgo.status).toBe(201);
  });

  it('the same UPDATE is denied for a person and allowed for the Argo CD service account', async () => {
    const scaleUp = { spec: { replicas: 3 } };
    const byPerson = await kube.patch(`${deployments}/ledger`, scaleUp, { impersonate: alice });
    const message = messageOf(byPerson.body);
    show('PATCH Deployment ledger spec.replicas=3 as alice@corp.example', `${byPerson.status} ${message}`);
    expect(byPerson.status).toBe(403);
    expect(message).toContain(`admission webhook "${webhookName}" denied the request`);
    expect(message).toContain('[gitops-only]');
    expect(message).toContain('spec.replicas');
    expect(message).toContain('Argo CD Application erp-ledger');
    const byArgo = await kube.patch(`${deployments}/ledger`, scaleUp, { impersonate: argocd });
    show('PATCH Deployment ledger spec.replicas=3 as Argo CD application controller', `${byArgo.status}`);
    expect(byArgo.status).toBe(200);
    // kubectl scale by a person goes through deployments/scale and is judged the same way
    const scale = await kube.patch(
      `${deployments}/ledger/scale`,
      { spec: { replicas: 5 } },
      { impersonate: alice },
    );
    show(
      'kubectl scale (deployments/scale) as alice@corp.example',
      `${scale.status} ${messageOf(scale.body)}`,
    );
    expect(scale.status).toBe(403);
  });

  it('a person with a valid break-glass token is allowed, and the audit log records it', async () => {
    const token = breakGlassToken();
    const emergency = await kube.patch(
      `${deployments}/ledger`,
      { metadata: { annotations: { 'tollgate.dev/break-glass': token } }, spec: { replicas: 6 } },
      { impersonate: alice },
    );
    expect(messageOf(emergency.body)).toBe('');
    expect(emergency.status).toBe(200);
    const event = await waitForAuditEvent(
      cluster.auditLogFile,
      (e) =>
        e.stage === 'ResponseComplete' &&
        e.verb === 'patch' &&
        e.objectRef?.resource === 'deployments' &&
        e.objectRef.namespace === PROD &&
        e.annotations?.[`${webhookName}/gitops-only.break-glass`] !== undefined &&
        e.responseStatus?.code === 200,
    );
    expect(event.impersonatedUser?.username).toBe('alice@corp.example');
    const recorded = event.annotations?.[`${webhookName}/gitops-only.break-glass`] ?? '';
    show(
      'PATCH spec.replicas=6 with break-glass token as alice@corp.example',
      `${emergency.status}\naudit annotation ${webhookName}/gitops-only.break-glass: ${recorded}`,
    );
    expect(recorded).toContain('INC-2048');
    expect(recorded).toContain('"outsideGit":true');
    expect(recorded).toContain('Argo CD Application erp-ledger');
    expect(recorded).not.toContain(token.slice(0, 40));
  });

  it('a suspended Flux Kustomization in production is denied by tollgate check and at admission', async () => {
    const dir = mkdtempSync(join(cluster.dir, 'gitops-check-'));
    const manifest = join(dir, 'kustomization.yaml');
    writeFileSync(manifest, JSON.stringify(suspended, null, 2));
    const inventory = join(dir, 'namespaces.yaml');
    writeFileSync(
      inventory,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: PROD, labels: { 'tollgate.dev/environment': 'production' } },
      }),
    );
    const check = tollgateCli([
      'check',
      manifest,
      `--bundle=${bundle}`,
      `--namespaces=${inventory}`,
      `--now=${NOW}`,
    ]);
    show('tollgate check kustomization.yaml (suspend: true)', `exit ${check.status}\n${check.stdout}`);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('spec.suspend');
    expect(check.stdout).toContain('gitops-sources');
    // Flux's own controller applying it: gitops-only lets it write, gitops-sources refuses the object.
    const admission = await kube.create(kustomizations, suspended, { impersonate: flux });
    const message = messageOf(admission.body);
    show(
      'CREATE Kustomization erp (suspend: true) as Flux kustomize-controller',
      `${admission.status} ${message}`,
    );
    expect(admission.status).toBe(403);
    expect(message).toContain('[gitops-sources] spec.suspend');
    expect(message).not.toContain('[gitops-only]');
    const resumed = await kube.create(
      kustomizations,
      { ...suspended, spec: { ...suspended.spec, suspend: false } },
      { impersonate: flux },
    );
    show('CREATE Kustomization erp (suspend: false) as Flux kustomize-controller', `${resumed.status}`);
    expect(resumed.status).toBe(201);
  });
});
