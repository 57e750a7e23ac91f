import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitCaughtUp, readAuditRun } from './audit-runs.ts';
import type { AuditRun } from './audit-runs.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-audit-runs-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const object = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'erp-prod', name: 'ledger' };
const change = {
  time: '2026-11-27T10:00:00.000Z',
  kind: 'Deployment',
  namespace: 'erp-prod',
  name: 'ledger',
};

/** Writes and reads an audit run as `tollgate audit --format json` writes it. */
async function run(now: string, drift: Record<string, unknown>): Promise<AuditRun> {
  const file = join(dir, `${now}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: 'tollgate.dev/v1', kind: 'AuditReport', now, drift }));
  return readAuditRun(file);
}

const fields = { type: 'fields', object, message: 'spec.replicas differs from Git' };
const tracked = (state: string) => ({ object, state, ticket: 'INC-4711', approvers: ['a', 'b'] });

describe('gitCaughtUp', () => {
  it('follows the audit’s break-glass tracking: open, then resolved once Git matches', async () => {
    const runs = [
      await run('2026-11-27T12:00:00Z', { entries: [fields], breakGlass: [tracked('open')] }),
      // Git now declares the change, but the object still carries the annotation: no drift, resolved.
      await run('2026-11-28T12:00:00Z', { entries: [], breakGlass: [tracked('resolved')] }),
    ];
    expect(gitCaughtUp(runs, change)).toEqual({
      status: 'caught-up',
      detail:
        'Git matches the live object in the audit of 2026-11-28T12:00:00.000Z (break-glass INC-4711 resolved)',
    });
    expect(gitCaughtUp(runs.slice(0, 1), change)).toEqual({
      status: 'drifting',
      detail: 'still drifting in the audit of 2026-11-27T12:00:00.000Z: spec.replicas differs from Git',
    });
  });

  it('keeps a change open that the tracking reports open, even without a drift entry', async () => {
    const runs = [await run('2026-11-27T12:00:00Z', { entries: [], breakGlass: [tracked('open')] })];
    expect(gitCaughtUp(runs, change)).toMatchObject({
      status: 'drifting',
      detail: expect.stringMatching(/break-glass change INC-4711 open/),
    });
  });

  it('reads audits that do not track break-glass changes by their drift, and unknown without a later audit', async () => {
    const older = [
      await run('2026-11-27T12:00:00Z', { entries: [fields] }),
      await run('2026-11-29T12:00:00Z', { entries: [] }),
    ];
    expect(gitCaughtUp(older, change)).toEqual({
      status: 'caught-up',
      detail: 'no drift in the audit of 2026-11-29T12:00:00.000Z',
    });
    expect(gitCaughtUp(older, { ...change, time: '2026-11-30T00:00:00.000Z' }).status).toBe('unknown');
  });
});
