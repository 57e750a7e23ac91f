import { describe, expect, it } from 'vitest';
import type { ResourceReport } from '../gate/check.ts';
import { summarize } from '../gate/check.ts';
import { formatText } from './text.ts';

const bundle = { name: 'b', version: '1.0.0', digest: 'sha256:00' };

function report(result: Partial<ResourceReport['results'][number]>): ResourceReport {
  return {
    object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'tenant-acme', name: 'hotfix' },
    operation: 'CREATE',
    point: 'ci',
    bundle,
    decision: 'allow',
    file: 'deploy.yaml',
    documentIndex: 0,
    line: 3,
    results: [
      { policy: 'freeze-windows', version: '1.0.0', status: 'pass', action: 'deny', findings: [], ...result },
    ],
  };
}

describe('formatText', () => {
  it('prints the break-glass approvals and exemptions that allowed a change', () => {
    const reports = [
      report({
        records: [
          { kind: 'break-glass', data: { ticket: 'INC-9', requester: 'alice', approvers: ['bob', 'carol'] } },
        ],
      }),
      report({
        policy: 'resource-limits',
        status: 'skip',
        exemption: { ticket: 'CHG-1', reason: 'legacy batch', expires: '2027-01-31' },
      }),
    ];
    const text = formatText(reports, [], summarize(reports, [], 1), bundle);
    expect(text).toContain(
      'deploy.yaml:3:1 note freeze-windows Deployment/hotfix in tenant-acme: break-glass INC-9 used: requested by alice, approved by bob, carol',
    );
    expect(text).toContain(
      'deploy.yaml:3:1 note resource-limits Deployment/hotfix in tenant-acme: exempted by CHG-1 until 2027-01-31 (legacy batch)',
    );
  });
});
