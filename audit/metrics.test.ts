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
});
