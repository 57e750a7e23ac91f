import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkManifests } from '../../ci-action/src/gate/check.ts';
import { loadBundleFile } from '../../io/bundle-file.ts';
import { loadManifests } from '../../ci-action/src/gate/manifests.ts';
import { loadHolidayCalendars } from '../../policies/index.ts';
import type { CommandIO } from '../io.ts';
import { main } from '../main.ts';
import { calendarWindows, foldIcsLine, freezeParamsOf } from './freeze.ts';

const repo = new URL('../../', import.meta.url).pathname;

async function cli(args: string[], cwd = repo): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin: async () => '',
    cwd,
    env: {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe('tollgate freeze calendar', () => {
  it('prints the 2027 close calendar of the finance baseline for both entities (paper-calendar checked)', async () => {
    const { code, stdout } = await cli(['freeze', 'calendar', '--from', '2027-01', '--to', '2027-12']);
    expect(code).toBe(0);
    const lines = stdout.split('\n').map((line) => line.trim().replace(/\s+/g, ' '));
    expect(lines).toContain(
      'de-gmbh (Europe/Berlin; working days Mon Tue Wed Thu Fri; holidays DE-BE (public, bank))',
    );
    for (const expected of [
      // de-gmbh: 31.1. is a Sunday; Good Friday 26.3. and Easter Monday 29.3.; Unity Day 3.10. is a Sunday
      '2027-01 month-end-close Wed 2027-01-27 18:00 Tue 2027-02-02 23:59',
      '2027-03 quarter-end-close Wed 2027-03-24 18:00 Mon 2027-04-05 23:59',
      '2027-09 quarter-end-close Mon 2027-09-27 18:00 Tue 2027-10-05 23:59',
      '2027-12 year-end-close Thu 2027-12-23 18:00 Fri 2028-01-07 23:59',
      // us-inc: Memorial Day 31.5.; Independence Day observed 5.7.; Christmas and New Year observed 24.12./31.12.
      '2027-05 month-end-close Wed 2027-05-26 18:00 Wed 2027-06-02 23:59',
      '2027-06 quarter-end-close Fri 2027-06-25 18:00 Tue 2027-07-06 23:59',
      '2027-03 quarter-end-close Fri 2027-03-26 18:00 Mon 2027-04-05 23:59',
    ])
      expect(lines).toContain(expected);
    // 12 closes per entity start in 2027.
    expect(lines.filter((line) => /^2027-\d\d /.test(line))).toHaveLength(24);
  });

  it('exports an RFC 5545 iCalendar with UTC times, CRLF lines of at most 75 octets and unique UIDs', async () => {
    const { code, stdout } = await cli([
      'freeze',
      'calendar',
      '--from',
      '2027-01',
      '--to',
      '2027-12',
      '--format',
      'ics',
      '--now',
      '2026-11-22T12:00:00Z',
    ]);
    expect(code).toBe(0);
    expect(stdout.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:')).toBe(true);
    expect(stdout.endsWith('END:VCALENDAR\r\n')).toBe(true);
    const physical = stdout.split('\r\n').slice(0, -1);
    expect(physical.every((line) => !line.includes('\n') && Buffer.byteLength(line) <= 75)).toBe(true);
    const logical = stdout.replace(/\r\n[ \t]/g, '').split('\r\n');
    const events = logical.filter((line) => line === 'BEGIN:VEVENT');
    expect(events).toHaveLength(24);
    const uids = logical.filter((line) => line.startsWith('UID:'));
    expect(new Set(uids).size).toBe(24);
    for (const prefix of ['DTSTART:', 'DTEND:', 'DTSTAMP:'])
      expect(
        logical.filter((line) => line.startsWith(prefix)).every((line) => /:\d{8}T\d{6}Z$/.test(line)),
      ).toBe(true);
    // 24 March 2027 18:00 CET = 17:00Z; 5 April 23:59 CEST = 21:59Z.
    expect(logical).toContain('DTSTART:20270324T170000Z');
    expect(logical).toContain('DTEND:20270405T215900Z');
    expect(logical).toContain('DTSTAMP:20261122T120000Z');
  });

  it('folds long lines without splitting UTF-8 sequences', () => {
    const line = `DESCRIPTION:${'ä'.repeat(100)}`;
    const folded = foldIcsLine(line).split('\r\n');
    expect(folded.every((part) => Buffer.byteLength(part) <= 75)).toBe(true);
    expect(folded.map((part, i) => (i === 0 ? part : part.slice(1))).join('')).toBe(line);
  });

  it.each([
    [['freeze', 'calendar', '--from', '2027-13', '--to', '2027-12'], /--from must be a month/],
    [['freeze', 'calendar', '--from', '2027-05', '--to', '2027-01'], /--to is before --from/],
    [['freeze', 'calendar', '--from', '2027-01', '--to', '2027-02', '--format', 'pdf'], /--format/],
    [
      ['freeze', 'calendar', '--from', '2027-01', '--to', '2027-02', '--entity', 'nope'],
      /unknown entity nope/,
    ],
    [['freeze', 'nap'], /unknown subcommand/],
  ])('refuses %j', async (args, message) => {
    const { code, stderr } = await cli(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('says when a bundle does not configure freeze-windows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-freeze-'));
    writeFileSync(
      join(dir, 'b.yaml'),
      'apiVersion: tollgate.dev/v1\nkind: PolicyBundle\nmetadata: { name: b, version: 1.0.0 }\nspec:\n  policies:\n    approved-registries: { registries: [registry.corp.example] }\n',
    );
    const { code, stderr } = await cli(['freeze', 'status', '--bundle', 'b.yaml'], dir);
    expect(code).toBe(2);
    expect(stderr).toContain('does not configure freeze-windows');
  });
});

describe('tollgate freeze status', () => {
  it('shows per entity which window freezes now, until when, and what comes next', async () => {
    const { code, stdout } = await cli(['freeze', 'status', '--now', '2027-01-04T12:00:00Z']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      'FROZEN by year-end-close (close of 2026-12): Tue 2026-12-22 18:00 until Fri 2027-01-08 23:59 Europe/Berlin',
    );
    expect(stdout).toContain(
      'merge after 2027-01-08T23:59 Europe/Berlin (2027-01-08T23:59+01:00, 2027-01-08T22:59:00.000Z)',
    );
    expect(stdout).toContain('merge after 2027-01-08T23:59 America/New_York');
    expect(stdout).toContain('freezes namespaces labels tollgate.dev/environment=production');
    expect(stdout).toContain('next: month-end-close (close of 2027-01) from Wed 2027-01-27 18:00');
    expect(stdout).toContain(
      'break-glass: not configured in bundle finance-baseline (no token unfreezes a change)',
    );
  });

  it('says which approvers a bundle with break-glass lists (the demo bundle)', async () => {
    const demo = 'policies/freeze-windows/samples/break-glass-demo.yaml';
    const text = await cli(['freeze', 'status', '--bundle', demo, '--now', '2027-01-04T12:00:00Z']);
    expect(text.stdout).toContain(
      'break-glass: 2 of 3 approvers (controller-de@corp.example, controller-us@corp.example, cfo@corp.example), tokens valid at most 24h',
    );
    const json = await cli(['freeze', 'status', '--bundle', demo, '--format', 'json']);
    expect((JSON.parse(json.stdout) as { breakGlass: unknown }).breakGlass).toEqual({
      configured: true,
      minApprovals: 2,
      approvers: ['controller-de@corp.example', 'controller-us@corp.example', 'cfo@corp.example'],
      maxLifetimeSeconds: 86400,
    });
  });

  it('reports open entities as JSON with the next window', async () => {
    const { code, stdout } = await cli([
      'freeze',
      'status',
      '--now',
      '2027-01-20T12:00:00Z',
      '--format',
      'json',
    ]);
    expect(code).toBe(0);
    const status = JSON.parse(stdout) as {
      entities: { entity: string; frozen: boolean; next?: { window: string; start: string } }[];
      breakGlass: unknown;
    };
    expect(status.breakGlass).toEqual({ configured: false });
    expect(status.entities.map((e) => [e.entity, e.frozen, e.next?.window, e.next?.start])).toEqual([
      ['de-gmbh', false, 'month-end-close', '2027-01-27T17:00:00.000Z'],
      ['us-inc', false, 'month-end-close', '2027-01-27T23:00:00.000Z'],
    ]);
  });
});

describe('the finance baseline and examples/', () => {
  it('keeps examples/allowed allowed at every start, middle and last minute of every 2027 window', async () => {
    const bundle = await loadBundleFile(undefined, repo);
    const params = freezeParamsOf(bundle);
    await loadHolidayCalendars(params);
    const set = await loadManifests(['examples/allowed'], repo, async () => '');
    expect(set.manifests.length).toBeGreaterThan(0);
    const windows = calendarWindows(params, { year: 2027, month: 1 }, { year: 2027, month: 12 });
    expect(windows.length).toBe(24);
    const instants = windows.flatMap((w) => [
      w.start,
      new Date((w.start.getTime() + w.end.getTime()) / 2),
      new Date(w.end.getTime() - 60000),
    ]);
    for (const now of instants) {
      const reports = await checkManifests(set.manifests, { bundle, now });
      const freeze = reports.flatMap((r) => r.results.filter((x) => x.policy === 'freeze-windows'));
      expect(freeze.every((result) => result.status === 'skip')).toBe(true);
    }
  });

  it('tollgate check denies a production change during the freeze and allows it afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-freeze-'));
    writeFileSync(
      join(dir, 'prod.yaml'),
      [
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant-acme\n  labels: { tollgate.dev/environment: production }',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odoo-config\n  namespace: tenant-acme\ndata: { workers: "4" }',
        // A new tenant namespace arrives with its quota and defaults (tenant-quotas), so that only the
        // freeze decides this change.
        readFileSync(new URL('../../examples/allowed/tenant-acme-namespace.yaml', import.meta.url), 'utf8')
          .split(/^---$/m)
          .slice(1)
          .join('---'),
      ].join('\n---\n'),
    );
    const frozen = await cli(['check', join(dir, 'prod.yaml'), '--now', '2027-03-30T12:00:00Z']);
    expect(frozen.code).toBe(1);
    expect(frozen.stdout).toContain('frozen by window "quarter-end-close" of de-gmbh (Europe/Berlin)');
    expect(frozen.stdout).toContain('merge after 2027-04-05T23:59 Europe/Berlin');
    const open = await cli(['check', join(dir, 'prod.yaml'), '--now', '2027-04-15T12:00:00Z']);
    expect(open.code).toBe(0);
  });
});
