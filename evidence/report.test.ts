import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustedKeys } from '../io/signing/bundle-signature.ts';
import type { TrustedKeys } from '../io/signing/bundle-signature.ts';
import { publicJwksFor, signBundle } from '../io/signing/signing.ts';
import { loadBundle } from '../policies/index.ts';
import { generateDecisionMonth } from '../test/support/decision-month.ts';
import type { DecisionMonth } from '../test/support/decision-month.ts';
import { readAuditRun } from './audit-runs.ts';
import { loadEvidenceBundles } from './bundles.ts';
import { csvCell, renderCsv } from './csv.ts';
import { renderHtml } from './html.ts';
import { buildReport } from './report.ts';
import type { EvidenceReport } from './report.ts';

const root = new URL('../', import.meta.url);
const ajv = new Ajv2020({ allErrors: true, strict: true });
(addFormatsModule as unknown as (instance: Ajv2020) => Ajv2020)(ajv);
const validate = ajv.compile(
  JSON.parse(readFileSync(new URL('docs/evidence-report.schema.json', root), 'utf8')) as Record<
    string,
    unknown
  >,
);

let dir: string;
let month: DecisionMonth;
let trusted: TrustedKeys;
let report: EvidenceReport;
let breakGlassObject: { kind: string; namespace: string; name: string; time: string };

const baseline = readFileSync(new URL('bundles/finance-baseline.yaml', root), 'utf8');
/** The baseline with exemptions: one in force, one that expired mid-month. */
const withExemptions = (version: string) =>
  `${baseline.replace('version: 1.0.0', `version: ${version}`)}
  exemptions:
    - { policy: resource-limits, namespaces: [legacy-batch], reason: 'batch job sizing under review', ticket: CHG-4711, expires: 2027-01-31, owner: platform-team }
    - { policy: approved-registries, namespaces: [erp-acme], reason: 'vendor image until mirror', ticket: CHG-0815, expires: 2026-11-14 }
`;

function auditRun(
  file: string,
  now: string,
  entries: Array<Record<string, unknown>>,
  objects: Array<Record<string, unknown>> = [],
): string {
  writeFileSync(
    file,
    JSON.stringify({ apiVersion: 'tollgate.dev/v1', kind: 'AuditReport', now, drift: { entries }, objects }),
  );
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-evidence-'));
  const bundles = join(dir, 'bundles');
  mkdirSync(bundles);
  const first = withExemptions('1.0.0');
  const second = withExemptions('1.1.0');
  writeFileSync(join(bundles, 'finance-1.0.0.yaml'), first);
  writeFileSync(join(bundles, 'finance-1.1.0.yaml'), second);
  const key = generateKeyPairSync('ed25519').privateKey;
  writeFileSync(
    join(bundles, 'finance-1.1.0.yaml.jws'),
    JSON.stringify(await signBundle(Buffer.from(second), key)),
  );
  trusted = await parseTrustedKeys(JSON.stringify(await publicJwksFor(key)), 'keys.jwks');
  const identities = [first, second].map((text) => loadBundle(text, { source: 'x' }).identity) as [
    ReturnType<typeof loadBundle>['identity'],
    ReturnType<typeof loadBundle>['identity'],
  ];
  month = generateDecisionMonth({
    dir: join(dir, 'logs'),
    decisions: 3000,
    every: 200,
    bundles: identities,
    ciRuns: 6,
  });
  // The object of the first break-glass change: the audit finds it drifting, then Git catches up.
  const glassLine = month.files
    .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
    .filter((line) => line.includes('"breakGlass"'))
    .map((line) => JSON.parse(line) as Record<string, string>)
    .sort((a, b) => String(a['time']).localeCompare(String(b['time'])))[0] as Record<string, string>;
  breakGlassObject = {
    kind: glassLine['kind'] as string,
    namespace: glassLine['namespace'] as string,
    name: glassLine['name'] as string,
    time: glassLine['time'] as string,
  };
  const later = (days: number) =>
    new Date(Date.parse(breakGlassObject.time) + days * 86_400_000).toISOString();
  const drifting = {
    type: 'fields',
    object: { apiVersion: 'apps/v1', ...breakGlassObject },
    message: 'spec.template.spec.containers[0].image differs from Git',
    changedBy: { manager: 'kubectl-edit' },
  };
  const undeclared = {
    type: 'undeclared',
    object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'payments', name: 'hand-made' },
    message: 'not declared in Git',
  };
  // The audit judged the drifting object: freeze-windows (SOX-ITGC-CM-05) and resource-limits
  // (SOX-ITGC-OPS-02) apply to it, approved-registries was skipped; nothing judged the ConfigMap.
  const judged = [
    {
      object: { apiVersion: 'apps/v1', ...breakGlassObject },
      decision: 'allow',
      results: [
        { policy: 'freeze-windows', status: 'pass', controls: ['SOX-ITGC-CM-05'] },
        { policy: 'resource-limits', status: 'warn', controls: ['SOX-ITGC-OPS-02'] },
        { policy: 'approved-registries', status: 'skip', controls: ['PCI-DSS-6.3.2'] },
      ],
    },
  ];
  const audits = [
    auditRun(join(dir, 'audit-1.json'), later(0.01), [drifting, undeclared], judged),
    auditRun(join(dir, 'audit-2.json'), later(0.5), [undeclared], judged),
  ];
  report = await buildReport({
    from: new Date('2026-11-01T00:00:00Z'),
    to: new Date('2026-12-01T00:00:00Z'),
    logs: month.files.map((name) => ({ name })),
    audits: await Promise.all(audits.map((file) => readAuditRun(file))),
    bundles: await loadEvidenceBundles(bundles, trusted),
    now: new Date('2026-12-01T08:00:00Z'),
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('evidence report', () => {
  it('is valid against the published JSON schema', () => {
    const valid = validate(JSON.parse(JSON.stringify(report)));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('counts every decision, denial and break-glass use of the month, per control and day', () => {
    expect(report.verification.status).toBe('verified');
    expect(report.summary).toMatchObject({
      decisions: 3000 + month.ciDecisions,
      denied: month.denials + month.ciDenials,
      breakGlass: month.breakGlass,
      writers: 4 + 6,
      ciRuns: 6,
    });
    expect(report.summary.sources.admission).toMatchObject({ decisions: 3000, denied: month.denials });
    expect(report.summary.sources.ci).toMatchObject({
      decisions: month.ciDecisions,
      denied: month.ciDenials,
    });
    expect(report.summary.sources.audit.decisions).toBe(0);
    expect(report.denials).toHaveLength(month.denials + month.ciDenials);
    expect(report.breakGlass).toHaveLength(month.breakGlass);
    expect(report.days).toHaveLength(30);
    const freeze = report.controls.find((control) => control.id === 'SOX-ITGC-CM-05');
    expect(freeze?.policies).toEqual([{ policy: 'freeze-windows', versions: ['1.0.0'] }]);
    expect(freeze?.breakGlass).toBe(month.breakGlass);
    for (const control of report.controls) {
      const sum = control.days.reduce((total, d) => total + d.allowed + d.denied + d.warned, 0);
      expect(sum).toBe(control.totals.decisions);
      const { admission, ci, audit } = control.sources;
      expect(admission.decisions + ci.decisions + audit.decisions).toBe(control.totals.decisions);
      expect(admission.denied + ci.denied + audit.denied).toBe(control.totals.denied);
    }
    const denialsPerControl = new Map<string, number>();
    for (const denial of report.denials)
      for (const id of denial.controls) denialsPerControl.set(id, (denialsPerControl.get(id) ?? 0) + 1);
    for (const control of report.controls)
      expect(control.denials).toBe(denialsPerControl.get(control.id) ?? 0);
  });

  it('shows the CI runs and their decisions per control beside the admission ones', () => {
    expect(report.ciRuns).toHaveLength(6);
    expect(report.ciRuns[0]).toMatchObject({
      ci: { repository: 'acme/erp-platform', ref: 'refs/pull/100/merge', actor: 'bob', run: '9000/1' },
      resources: 3,
    });
    expect(report.ciRuns.filter((run) => run.result === 'fail').length).toBe(
      report.ciRuns.filter((run) => run.denied > 0).length,
    );
    const ciDenials = report.denials.filter((denial) => denial.source === 'ci');
    expect(ciDenials).toHaveLength(month.ciDenials);
    for (const denial of ciDenials) {
      expect(denial.ci?.repository).toBe('acme/erp-platform');
      expect(denial.file).toMatch(/^k8s\//);
    }
    // Every CI decision names every policy, so each control saw every CI decision.
    const registries = report.controls.find((control) => control.id === 'PCI-DSS-6.3.2');
    expect(registries?.sources.ci.decisions).toBe(month.ciDecisions);
    const perControl = new Map<string, number>();
    for (const denial of ciDenials)
      for (const id of denial.controls) perControl.set(id, (perControl.get(id) ?? 0) + 1);
    for (const control of report.controls)
      expect(control.sources.ci.denied).toBe(perControl.get(control.id) ?? 0);
  });

  it('names the bundles active, their digests and signatures', () => {
    expect(report.bundles.map((b) => [b.version, b.signature])).toEqual([
      ['1.0.0', 'unsigned'],
      ['1.1.0', 'verified'],
    ]);
    expect(report.bundles[1]?.keyIds).toHaveLength(1);
    expect(report.bundles[0]?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('lists exemptions with owner and flags the expired one', () => {
    expect(report.exemptions.map((e) => [e.ticket, e.owner, e.expired])).toEqual([
      ['CHG-0815', '', true],
      ['CHG-4711', 'platform-team', false],
    ]);
    expect(report.exemptions.find((e) => e.ticket === 'CHG-4711')?.used).toBeGreaterThan(0);
  });

  it('lists the freeze windows of the period and the changes inside them', () => {
    const close = report.freezeWindows.filter((f) => f.window === 'month-end-close');
    // October's close runs into the first business days of November; November's starts in its last days.
    expect(close.map((f) => `${f.entity} ${f.start.slice(0, 7)}`).sort()).toEqual([
      'de-gmbh 2026-10',
      'de-gmbh 2026-11',
      'us-inc 2026-10',
      'us-inc 2026-11',
    ]);
    for (const window of close) expect(window.emergencyChanges + window.otherChanges).toBeGreaterThan(0);
  });

  it('follows drift across audit runs and says whether Git caught up with a break-glass change', () => {
    expect(report.drift.map((d) => [d.type, d.resolution]).sort()).toEqual([
      ['fields', 'resolved'],
      ['undeclared', 'open'],
    ]);
    // Per control: the policies that judged the object in the audit (not the skipped one).
    const fields = report.drift.find((d) => d.type === 'fields');
    expect(fields?.policies).toEqual(['freeze-windows', 'resource-limits']);
    expect(fields?.controls).toEqual(['SOX-ITGC-CM-05', 'SOX-ITGC-OPS-02']);
    expect(report.drift.find((d) => d.type === 'undeclared')?.controls).toEqual(['(no control id)']);
    const drift = (id: string) => report.controls.find((control) => control.id === id)?.drift;
    expect(drift('SOX-ITGC-CM-05')).toEqual({ open: 0, resolved: 1 });
    expect(drift('(no control id)')).toEqual({ open: 1, resolved: 0 });
    expect(drift('PCI-DSS-6.3.2')).toEqual({ open: 0, resolved: 0 });
    const use = report.breakGlass.find(
      (g) => g.time === breakGlassObject.time && g.name === breakGlassObject.name,
    );
    expect(use?.git.status).toBe('caught-up');
    expect(report.breakGlass.filter((g) => g.git.status === 'unknown').length).toBeGreaterThan(0);
  });

  it('renders one self-contained HTML page that loads nothing from outside', () => {
    const html = renderHtml(report);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|url\(|@import|https?:\/\//i);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain('Log verified');
  });

  it('escapes what the log says in HTML and defuses formulas in CSV', () => {
    const hostile = structuredClone(report);
    (hostile.breakGlass[0] as { reason: string }).reason = '<img src=x onerror=alert(1)>';
    expect(renderHtml(hostile)).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    const files = renderCsv(report);
    expect(files['denials.csv']?.trimEnd().split('\r\n')).toHaveLength(month.denials + month.ciDenials + 1);
    expect(files['ci-runs.csv']?.trimEnd().split('\r\n')).toHaveLength(6 + 1);
    expect(files['break-glass.csv']?.split('\r\n')[0]).toMatch(/^time,ticket,requester,approvers/);
  });

  it('says the log is broken and names the line when it is', async () => {
    const file = month.files[4] as string;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[7] = (lines[7] as string)
      .replace('"decision":"allow"', '"decision":"deny"')
      .replace('"decision":"deny"', '"decision":"allow"');
    lines[7] = (lines[7] as string).replace('"durationMs":', '"durationMs":1');
    const copy = join(dir, 'tampered.log');
    writeFileSync(copy, lines.join('\n'));
    const broken = await buildReport({
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-12-01T00:00:00Z'),
      logs: [...month.files.filter((f) => f !== file), copy].map((name) => ({ name })),
      audits: [],
      bundles: [],
      now: new Date('2026-12-01T08:00:00Z'),
    });
    expect(broken.verification.status).toBe('broken');
    expect(broken.verification.breaks[0]).toMatchObject({ file: copy, line: 8 });
    expect(renderHtml(broken)).toContain(`Log BROKEN</span> first broken line: <code>${copy}:8</code>`);
    expect(validate(JSON.parse(JSON.stringify(broken)))).toBe(true);
  });
});
