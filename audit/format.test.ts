import { describe, expect, it } from 'vitest';
import { codeScanningErrors, sarifSchemaErrors } from '../test/support/sarif-validator.ts';
import type { PolicyResult } from '../policies/index.ts';
import type { AuditResult } from './audit.ts';
import { auditDocument, auditExitCode, auditText, renderAudit } from './format.ts';
import { buildReports, resultsPerReport } from './reports.ts';

const fail: PolicyResult = {
  policy: 'approved-registries',
  version: '1.0.0',
  status: 'fail',
  action: 'deny',
  controls: ['PCI-DSS-6.4.2'],
  findings: [
    {
      policy: 'approved-registries',
      action: 'deny',
      path: 'spec.containers[0].image',
      message: 'nginx:latest is not from an approved registry',
      fix: 'use registry.corp.example/erp',
    },
  ],
};
const pass: PolicyResult = { ...fail, status: 'pass', findings: [] };

function audit(failing: number, passing = 1): AuditResult {
  const object = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', namespace: 'pay', name, uid: name });
  return {
    cluster: 'https://127.0.0.1:6443',
    now: '2026-11-30T11:00:00.000Z',
    bundle: { name: 'b', version: '1.0.0', digest: 'sha256:0' },
    resources: ['v1/pods'],
    objects: failing + passing,
    forbidden: [],
    audited: [
      ...Array.from({ length: failing }, (_, i) => ({
        object: object(`bad-${i}`),
        decision: 'deny' as const,
        results: [fail],
      })),
      ...Array.from({ length: passing }, (_, i) => ({
        object: object(`good-${i}`),
        decision: 'allow' as const,
        results: [pass],
      })),
    ],
    drift: {
      declared: 1,
      images: [],
      breakGlass: [],
      entries: [
        {
          type: 'fields',
          object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'pay', name: 'ledger' },
          source: { file: 'apps/ledger.yaml', line: 3 },
          message: '1 field(s) differ',
          fields: [
            {
              path: 'spec.replicas',
              declared: 2,
              live: 5,
              changedBy: { manager: 'kubectl-edit', operation: 'Update', time: '2026-11-20T09:30:00Z' },
            },
          ],
        },
      ],
    },
  };
}

describe('audit reports', () => {
  it('lists failures and drift, counts passes, and splits a namespace into reports the API server stores', () => {
    const reports = buildReports(audit(resultsPerReport + 10, 3));
    expect(reports.map((r) => [r.kind, r.metadata.name, r.metadata.namespace, r.results.length])).toEqual([
      ['PolicyReport', 'tollgate-audit', 'pay', resultsPerReport],
      ['PolicyReport', 'tollgate-audit-2', 'pay', 11],
    ]);
    expect(reports[0]?.summary).toEqual({ pass: 3, fail: resultsPerReport + 11, warn: 0, error: 0, skip: 0 });
    const drift = reports[1]?.results.at(-1);
    expect(drift).toMatchObject({
      policy: 'tollgate-drift',
      rule: 'fields',
      result: 'fail',
      properties: {
        field: 'spec.replicas',
        declared: '2',
        live: '5',
        manager: 'kubectl-edit',
        source: 'apps/ledger.yaml:3',
      },
    });
    expect(reports[0]?.results[0]).toMatchObject({
      result: 'fail',
      severity: 'high',
      category: 'PCI-DSS-6.4.2',
      resources: [{ kind: 'Pod', name: 'bad-0', namespace: 'pay', uid: 'bad-0' }],
      timestamp: { seconds: Date.parse('2026-11-30T11:00:00Z') / 1000, nanos: 0 },
    });
  });

  it("lists a Namespace object's results in its own PolicyReport with the fix, other cluster-scoped ones in the ClusterPolicyReport", () => {
    const quota: PolicyResult = {
      ...fail,
      policy: 'tenant-quotas',
      findings: [
        {
          policy: 'tenant-quotas',
          action: 'deny',
          path: 'metadata.name',
          message: 'tenant namespace hooli has no ResourceQuota',
          fix: 'add a ResourceQuota in namespace hooli',
        },
        {
          policy: 'tenant-quotas',
          action: 'deny',
          path: 'metadata.name',
          message: 'tenant namespace hooli has no LimitRange',
          fix: 'add a LimitRange in namespace hooli',
        },
      ],
    };
    const base = audit(0, 0);
    const reports = buildReports({
      ...base,
      audited: [
        {
          object: { apiVersion: 'v1', kind: 'Namespace', name: 'hooli' },
          decision: 'deny',
          results: [quota],
        },
        {
          object: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'wide' },
          decision: 'deny',
          results: [fail],
        },
      ],
      drift: {
        ...base.drift!,
        entries: [
          // Git declares a Namespace the cluster lacks: no PolicyReport can live there.
          {
            type: 'missing',
            object: { apiVersion: 'v1', kind: 'Namespace', name: 'ghost' },
            message: 'declared, not live',
          },
        ],
      },
    });
    expect(
      reports.map((r) => [
        r.kind,
        r.metadata.namespace,
        r.results.map((x) => [x.policy, x.resources[0]?.name]),
      ]),
    ).toEqual([
      [
        'ClusterPolicyReport',
        undefined,
        [
          ['approved-registries', 'wide'],
          ['tollgate-drift', 'ghost'],
        ],
      ],
      ['PolicyReport', 'hooli', [['tenant-quotas', 'hooli']]],
    ]);
    expect(reports[1]?.results[0]?.properties?.['fix']).toBe(
      'add a ResourceQuota in namespace hooli; add a LimitRange in namespace hooli',
    );
    expect(reports[0]?.results[0]?.properties?.['fix']).toBe('use registry.corp.example/erp');
    // The text report places them alike: the Namespace under its own namespace.
    const text = auditText({
      ...base,
      audited: [
        {
          object: { apiVersion: 'v1', kind: 'Namespace', name: 'hooli' },
          decision: 'deny',
          results: [quota],
        },
      ],
    });
    expect(text).toMatch(/namespace hooli\n.*\n\s+Namespace\/hooli\s+tenant-quotas\s+fail/);
    expect(text).not.toContain('cluster-scoped');
  });

  it('streams the JSON document object by object, byte for byte what one stringify prints', () => {
    for (const result of [audit(3, 2), { ...audit(0, 0), drift: undefined }]) {
      const { drift: _drift, ...rest } = result;
      const plain = result.drift ? result : rest;
      expect(renderAudit('json', plain)).toBe(`${JSON.stringify(auditDocument(plain), null, 2)}\n`);
      expect(JSON.parse(renderAudit('json', plain))).toEqual(auditDocument(plain));
    }
  });

  it('prints SARIF that code scanning accepts', () => {
    const sarif = JSON.parse(renderAudit('sarif', audit(2))) as unknown;
    expect(sarifSchemaErrors(sarif)).toEqual([]);
    expect(codeScanningErrors(sarif)).toEqual([]);
  });

  it('prints a table per namespace and exits like check', () => {
    const text = auditText(audit(1));
    expect(text).toContain('namespace pay');
    expect(text).toMatch(
      /Pod\/bad-0\s+approved-registries\s+fail\s+deny\s+spec\.containers\[0\]\.image: nginx/,
    );
    expect(text).toMatch(/Deployment\/ledger\s+fields\s+spec\.replicas: Git 2, live 5\s+kubectl-edit/);
    expect(text).not.toContain('not audited');
    const scoped = auditText({
      ...audit(1),
      clusterScopedNotAudited: ['rbac.authorization.k8s.io/v1/clusterroles'],
    });
    expect(scoped).toContain(
      'not audited (cluster-scoped; --namespace audits only namespaced objects and those Namespaces): rbac.authorization.k8s.io/v1/clusterroles',
    );
    expect(auditExitCode(audit(1))).toBe(1);
    expect(
      auditExitCode({ ...audit(0), drift: { declared: 1, entries: [], images: [], breakGlass: [] } }),
    ).toBe(0);
  });
});
