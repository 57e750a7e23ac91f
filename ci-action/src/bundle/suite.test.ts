/**
 * `tollgate bundle test` judges a request exactly as the webhook does: through the one review path,
 * with the webhook's skip rules. Regression: the suite's own adapter once evaluated requests the
 * webhook lets through unevaluated (a status update, CONNECT), so a suite could "prove" a denial
 * the cluster never makes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBundlePath } from '../../../io/default-bundle.ts';
import { runSuite } from './suite.ts';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'odoo', namespace: 'tenant-acme' },
  spec: { containers: [{ name: 'odoo', image: 'docker.io/library/odoo:17.0' }] },
};

function suiteWith(cases: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-suite-'));
  const file = join(dir, 'suite.json');
  writeFileSync(file, JSON.stringify({ bundle: defaultBundlePath, now: '2026-11-10T12:00:00Z', cases }));
  return file;
}

describe('bundle test requests go through the webhook review path', () => {
  it('a pods/status UPDATE is not evaluated: an expected denial is reported loudly, skip passes', async () => {
    const request = { operation: 'UPDATE', subResource: 'status', object: pod, oldObject: pod };
    const result = await runSuite(
      suiteWith([
        { name: 'status-denied', request, expect: { policies: { 'approved-registries': 'fail' } } },
        {
          name: 'status-skipped',
          request,
          expect: { decision: 'allow', policies: { 'approved-registries': 'skip' } },
        },
      ]),
      process.cwd(),
    );
    const [denied, skipped] = result.cases;
    expect(denied?.passed).toBe(false);
    expect(denied?.failures[0]).toMatchObject({ loud: true, policy: 'approved-registries' });
    expect(denied?.failures[0]?.message).toContain(
      'the webhook does not evaluate this request (subresource pods/status',
    );
    expect(skipped?.passed).toBe(true);
  });

  it('the same pod as a CREATE, and through pods/ephemeralcontainers, is evaluated and denied', async () => {
    const result = await runSuite(
      suiteWith([
        {
          name: 'create',
          request: { operation: 'CREATE', object: pod },
          expect: { decision: 'deny', policies: { 'approved-registries': 'fail' } },
        },
        {
          name: 'debug',
          request: { operation: 'UPDATE', subResource: 'ephemeralcontainers', object: pod, oldObject: pod },
          expect: { decision: 'deny', policies: { 'approved-registries': 'fail' } },
        },
      ]),
      process.cwd(),
    );
    expect(result.cases.map((c) => [c.name, c.passed, c.failures])).toEqual([
      ['create', true, []],
      ['debug', true, []],
    ]);
  });

  it('an invalid request is refused as the webhook refuses it', async () => {
    const result = await runSuite(
      suiteWith([
        {
          name: 'no-object',
          request: { operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' } },
          expect: { decision: 'allow' },
        },
      ]),
      process.cwd(),
    );
    expect(result.cases[0]?.passed).toBe(false);
    expect(result.cases[0]?.failures[0]?.message).toContain('request.object is required for CREATE');
  });
});
