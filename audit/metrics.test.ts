import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AuditResult } from './audit.ts';
import { createAuditMetrics } from './metrics.ts';

const result: AuditResult = {
  cluster: 'https://127.0.0.1:6443',
  now: '2026-11-30T11:00:00.000Z',
  bundle: { name: 'b', version: '1.0.0', digest: 'sha256:0' },
  resources: ['v1/pods'],
  objects: 2,
  forbidden: [],
  audited: [
    {
      object: { apiVersion: 'v1', kind: 'Pod', namespace: 'pay', name: 'rogue' },
      decision: 'deny',
      results: [
        {
          policy: 'approved-registries',
          version: '1.0.0',
          status: 'fail',
          action: 'deny',
          controls: ['PCI-DSS-6.4.2', 'SOX-CM-1'],
          findings: [],
        },
        { policy: 'resource-limits', version: '1.0.0', status: 'pass', action: 'deny', findings: [] },
      ],
    },
  ],
  drift: {
    declared: 1,
    images: [],
    breakGlass: [],
    entries: [
      {
        type: 'fields',
        object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'pay', name: 'l' },
        message: '',
      },
    ],
  },
};

describe('audit metrics', () => {
  it('serves violations per policy, namespace and control and drift per type on /metrics', async () => {
    const metrics = await createAuditMetrics();
    metrics.observe(result, 1.5);
    metrics.observe(result, 2); // a rerun replaces, never adds up
    const server = await metrics.listen(0, '127.0.0.1');
    try {
      const { port } = server.address() as AddressInfo;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain(
        'tollgate_audit_violations{policy="approved-registries",namespace="pay",action="deny",control="PCI-DSS-6.4.2"} 1',
      );
      expect(text).toContain('control="SOX-CM-1"} 1');
      expect(text).not.toContain('policy="resource-limits"');
      expect(text).toContain('tollgate_audit_drift{type="fields",namespace="pay"} 1');
      expect(text).toContain('tollgate_audit_objects 2');
      expect(text).toContain('tollgate_audit_duration_seconds 2');
    } finally {
      server.close();
    }
  });

  it('serves break-glass changes open and resolved per namespace and the control of the policy that honoured them', async () => {
    const settlement = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'close', name: 'settlement' };
    const ledger = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'pay', name: 'ledger' };
    const withBreakGlass: AuditResult = {
      ...result,
      audited: [
        ...result.audited,
        {
          object: settlement,
          decision: 'allow',
          results: [
            {
              policy: 'freeze-windows',
              version: '1.0.0',
              status: 'pass',
              action: 'deny',
              controls: ['SOX-ITGC-CM-01', 'SOX-ITGC-AC-02'],
              findings: [],
              records: [{ kind: 'break-glass', data: { ticket: 'CHG-1' } }],
            },
            // A policy that recorded something else does not claim the change.
            {
              policy: 'resource-limits',
              version: '1.0.0',
              status: 'pass',
              action: 'deny',
              controls: ['SOX-ITGC-OPS-02'],
              findings: [],
              records: [{ kind: 'audit', data: {} }],
            },
          ],
        },
        // The approval no longer unfreezes anything (the window ended): no policy honoured it.
        { object: ledger, decision: 'allow', results: [] },
        // A Namespace object counts in its own namespace, as its PolicyReport lists it.
        {
          object: { apiVersion: 'v1', kind: 'Namespace', name: 'hooli' },
          decision: 'deny',
          results: [
            {
              policy: 'tenant-quotas',
              version: '1.0.0',
              status: 'fail',
              action: 'deny',
              controls: ['SOX-ITGC-OPS-02'],
              findings: [],
            },
          ],
        },
      ],
      drift: {
        declared: 2,
        images: [],
        entries: [],
        breakGlass: [
          { object: settlement, state: 'open', approvers: [], fields: [], message: '' },
          { object: ledger, state: 'resolved', approvers: [], fields: [], message: '' },
        ],
      },
    };
    const metrics = await createAuditMetrics();
    metrics.observe(withBreakGlass, 1);
    const server = await metrics.listen(0, '127.0.0.1');
    try {
      const { port } = server.address() as AddressInfo;
      const read = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const lines = (text: string) =>
        text.split('\n').filter((l) => l.startsWith('tollgate_audit_break_glass'));
      expect(await read()).toContain(
        'tollgate_audit_violations{policy="tenant-quotas",namespace="hooli",action="deny",control="SOX-ITGC-OPS-02"} 1',
      );
      expect(lines(await read())).toEqual([
        'tollgate_audit_break_glass_changes{state="open",namespace="close",control="SOX-ITGC-AC-02"} 1',
        'tollgate_audit_break_glass_changes{state="open",namespace="close",control="SOX-ITGC-CM-01"} 1',
        'tollgate_audit_break_glass_changes{state="resolved",namespace="pay",control=""} 1',
      ]);
      // Git caught up with settlement on the next run; a run without Git tracks none.
      metrics.observe({ ...withBreakGlass, drift: { ...withBreakGlass.drift!, breakGlass: [] } }, 1);
      expect(lines(await read())).toEqual([]);
    } finally {
      server.close();
    }
  });
});
