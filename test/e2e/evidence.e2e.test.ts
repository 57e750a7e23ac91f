/**
 * The drift audit's runs in the evidence against the real API server: `tollgate audit
 * --decision-log` records each judged live object and the run in the hash-chained log, beside its
 * JSON; `tollgate evidence verify` proves the log whole and `tollgate evidence report` shows the
 * audit's decisions per control and the drift grouped under the controls of the policies that
 * judged the drifted object, open until a later audit no longer finds it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EvidenceReport } from '../../evidence/report.ts';
import { KubeClient } from './kube.ts';
import { ensureNamespace, nodeBin, repoRoot } from './tollgate.ts';

const cluster = inject('cluster');
const kube = new KubeClient(cluster);
const NS = 'e2e-evidence';
let dir: string;

const bundle = `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: e2e-evidence, version: 1.0.0 }
spec:
  policies:
    approved-registries:
      enforcement: deny
      controls: [SOX-ITGC-CM-03, PCI-DSS-6.3.2]
      registries: [registry.corp.example/erp]
`;

function deployment(name: string, image: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

function tollgate(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(nodeBin, [join(repoRoot, 'bin', 'tollgate.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** One audit run: its JSON into `json`, its decisions into the log. */
function audit(json: string): void {
  const run = tollgate([
    'audit',
    `--kubeconfig=${cluster.kubeconfigFile}`,
    `--namespace=${NS}`,
    '--bundle=bundle.yaml',
    '--git=git',
    '--offline',
    '--format=json',
    '--decision-log=logs/decisions.log',
  ]);
  expect(run.stderr).toBe('');
  writeFileSync(join(dir, json), run.stdout);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-evidence-'));
  writeFileSync(join(dir, 'bundle.yaml'), bundle);
  mkdirSync(join(dir, 'git'));
  await ensureNamespace(kube, NS);
  const approved = deployment('ledger', 'registry.corp.example/erp/ledger:2.1');
  const unapproved = deployment('reports', 'docker.io/library/reports:3.0');
  for (const object of [approved, unapproved]) {
    writeFileSync(
      join(dir, 'git', `${(object['metadata'] as { name: string }).name}.yaml`),
      JSON.stringify(object),
    );
    const created = await kube.create(`/apis/apps/v1/namespaces/${NS}/deployments`, object);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
});

afterAll(async () => {
  await kube.request('DELETE', `/api/v1/namespaces/${NS}`);
  rmSync(dir, { recursive: true, force: true });
});

describe('tollgate audit --decision-log in the evidence', () => {
  it('records each run, verifies, and reports audit decisions and drift per control', async () => {
    // A hand-made change of the approved Deployment's image: drift (fields) until Git follows.
    const edit = await kube.patch(`/apis/apps/v1/namespaces/${NS}/deployments/ledger`, {
      spec: {
        template: { spec: { containers: [{ name: 'app', image: 'registry.corp.example/erp/ledger:2.2' }] } },
      },
    });
    expect(edit.status, JSON.stringify(edit.body)).toBe(200);
    audit('audit-1.json');
    // Git catches up: the next run finds no drift on it.
    writeFileSync(
      join(dir, 'git', 'ledger.yaml'),
      JSON.stringify(deployment('ledger', 'registry.corp.example/erp/ledger:2.2')),
    );
    audit('audit-2.json');

    const lines = readFileSync(join(dir, 'logs', 'decisions.log'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const decisions = lines.filter((line) => line['event'] === 'decision');
    expect(decisions.map((line) => [line['name'], line['decision'], line['source']]).sort()).toEqual([
      ['ledger', 'allow', 'audit'],
      ['ledger', 'allow', 'audit'],
      ['reports', 'deny', 'audit'],
      ['reports', 'deny', 'audit'],
    ]);
    expect(lines.filter((line) => line['event'] === 'audit-run')).toHaveLength(2);
    expect(JSON.stringify(lines)).not.toContain('docker.io/library/reports');

    const verify = tollgate(['evidence', 'verify', 'logs/decisions.log']);
    expect(verify.stdout).toMatch(/2 writer\(s\)/);
    expect(verify.code).toBe(0);
    const today = new Date().toISOString().slice(0, 10);
    const report = tollgate([
      'evidence',
      'report',
      `--from=${today}`,
      `--to=${today}`,
      '--logs',
      'logs/decisions.log',
      '--audit',
      'audit-1.json',
      '--audit',
      'audit-2.json',
      '--format=json',
    ]);
    expect(report.code, report.stderr).toBe(0);
    const evidence = JSON.parse(report.stdout) as EvidenceReport;
    const control = evidence.controls.find((c) => c.id === 'PCI-DSS-6.3.2');
    expect(control?.sources.audit).toEqual({ decisions: 4, allowed: 2, denied: 2, warned: 0 });
    expect(control?.sources.admission.decisions).toBe(0);
    // The edit is drift of its fields and of its image; both resolved once Git followed.
    const ledger = evidence.drift.filter((d) => d.object === `Deployment ${NS}/ledger`);
    expect(ledger.map((d) => d.type).sort()).toEqual(['fields', 'image']);
    for (const drift of ledger)
      expect(drift).toMatchObject({
        resolution: 'resolved',
        policies: ['approved-registries'],
        controls: ['PCI-DSS-6.3.2', 'SOX-ITGC-CM-03'],
      });
    expect(evidence.drift.filter((d) => d.object !== `Deployment ${NS}/ledger`)).toEqual([]);
    expect(control?.drift).toEqual({ open: 0, resolved: 2 });
    expect(evidence.auditRuns.filter((run) => run.source.startsWith('log: '))).toHaveLength(2);
  });
});
