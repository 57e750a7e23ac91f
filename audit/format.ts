/**
 * How an audit is printed: a table per namespace (text), the JSON document other tools read
 * (`kind: AuditReport`, described in docs/commands.md), SARIF 2.1.0 for code scanning, and the
 * PolicyReports themselves. The exit code follows `tollgate check`.
 */
import { createHash } from 'node:crypto';
import { TOLLGATE_VERSION, type PolicyResult } from '../policies/index.ts';
import type { AuditedObject, AuditResult } from './audit.ts';
import { sourceText, type DriftEntry, type DriftType } from './drift.ts';
import { buildReports, reportNamespace } from './reports.ts';

/** Output formats of `tollgate audit`. */
export const auditFormats = ['text', 'json', 'sarif', 'policyreport'] as const;
/** One of {@link auditFormats}. */
export type AuditFormat = (typeof auditFormats)[number];

/** Whether a string names an audit format. */
export function isAuditFormat(value: string): value is AuditFormat {
  return (auditFormats as readonly string[]).includes(value);
}

/** Counts over the whole audit. */
export interface AuditSummary {
  objects: number;
  /** Objects some policy denies at the audit point. */
  denied: number;
  fail: number;
  warn: number;
  error: number;
  pass: number;
  skip: number;
  drift: Record<DriftType, number>;
  /** Break-glass changes against Git (with `--git` or `--render`). */
  breakGlass?: { open: number; resolved: number };
}

/** Counts results and drift. */
export function summarizeAudit(result: AuditResult): AuditSummary {
  const summary: AuditSummary = {
    objects: result.objects,
    denied: 0,
    fail: 0,
    warn: 0,
    error: 0,
    pass: 0,
    skip: 0,
    drift: { missing: 0, undeclared: 0, fields: 0, image: 0 },
  };
  for (const audited of result.audited) {
    if (audited.decision === 'deny') summary.denied++;
    for (const r of audited.results) summary[r.status]++;
  }
  for (const entry of result.drift?.entries ?? []) summary.drift[entry.type]++;
  if (result.drift) {
    const changes = result.drift.breakGlass;
    const open = changes.filter((c) => c.state === 'open').length;
    summary.breakGlass = { open, resolved: changes.length - open };
  }
  return summary;
}

/** 1 when a live object is denied at the audit point or anything drifted, else 0 (2 and 3 come from errors). */
export function auditExitCode(result: AuditResult): number {
  const summary = summarizeAudit(result);
  const drift = Object.values(summary.drift).reduce((a, b) => a + b, 0);
  return summary.denied > 0 || drift > 0 ? 1 : 0;
}

/** Renders an audit in a format. */
export function renderAudit(format: AuditFormat, result: AuditResult): string {
  return [...renderAuditChunks(format, result)].join('');
}

/**
 * Renders an audit in pieces: the JSON document object by object, so a large audit is never one
 * string of its whole size (the other formats come in one piece).
 */
export function* renderAuditChunks(format: AuditFormat, result: AuditResult): Generator<string> {
  if (format !== 'json') {
    yield renderWhole(format, result);
    return;
  }
  const { objects, ...head } = auditDocument(result) as { objects: readonly unknown[] };
  if (objects.length === 0) {
    yield `${JSON.stringify({ ...head, objects }, null, 2)}\n`;
    return;
  }
  const opening = JSON.stringify({ ...head, objects: [] }, null, 2);
  yield `${opening.slice(0, opening.lastIndexOf('[]'))}[\n`;
  for (const [index, object] of objects.entries())
    yield `    ${JSON.stringify(object, null, 2).replace(/\n/g, '\n    ')}${index < objects.length - 1 ? ',' : ''}\n`;
  yield '  ]\n}\n';
}

function renderWhole(format: Exclude<AuditFormat, 'json'>, result: AuditResult): string {
  switch (format) {
    case 'sarif':
      return `${JSON.stringify(auditSarif(result), null, 2)}\n`;
    case 'policyreport':
      return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: buildReports(result) }, null, 2)}\n`;
    case 'text':
      return auditText(result);
  }
}

/** The JSON document of `--format json`. */
export function auditDocument(result: AuditResult): Record<string, unknown> {
  return {
    apiVersion: 'tollgate.dev/v1',
    kind: 'AuditReport',
    tollgate: TOLLGATE_VERSION,
    point: 'audit',
    cluster: result.cluster,
    now: result.now,
    bundle: result.bundle,
    resources: result.resources,
    forbidden: result.forbidden,
    ...(result.clusterScopedNotAudited ? { clusterScopedNotAudited: result.clusterScopedNotAudited } : {}),
    summary: summarizeAudit(result),
    ...(result.drift ? { drift: result.drift } : {}),
    objects: result.audited,
  };
}

const attention = (r: PolicyResult) => r.status === 'fail' || r.status === 'warn' || r.status === 'error';

function nameOf(object: { kind: string; name: string }): string {
  return `${object.kind}/${object.name}`;
}

function table(rows: readonly string[][]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    `  ${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ')}`.trimEnd(),
  );
}

const show = (value: unknown): string => (value === undefined ? '(absent)' : JSON.stringify(value));

function driftLines(entry: DriftEntry): string[][] {
  const object = nameOf(entry.object);
  if (entry.fields?.length)
    return entry.fields.map((f) => [
      object,
      'fields',
      `${f.path}: Git ${show(f.declared)}, live ${show(f.live)}`,
      f.changedBy ? `${f.changedBy.manager}${f.changedBy.time ? ` ${f.changedBy.time}` : ''}` : '?',
    ]);
  return [
    [
      object,
      entry.type,
      entry.message,
      entry.changedBy
        ? `${entry.changedBy.manager}${entry.changedBy.time ? ` ${entry.changedBy.time}` : ''}`
        : '',
    ],
  ];
}

/** The text report: a summary line, then per namespace the results that need attention, the drift and the images. */
export function auditText(result: AuditResult): string {
  const summary = summarizeAudit(result);
  const out: string[] = [
    `tollgate audit of ${result.cluster} at ${result.now} with ${result.bundle.name} ${result.bundle.version}`,
    `${summary.objects} object(s) of ${result.resources.length} resource(s): ${summary.denied} denied; ${summary.fail} fail, ${summary.warn} warn, ${summary.error} error, ${summary.pass} pass, ${summary.skip} skip`,
  ];
  if (result.forbidden.length > 0)
    out.push(`not audited (list forbidden to this identity): ${result.forbidden.join(', ')}`);
  if (result.clusterScopedNotAudited?.length)
    out.push(
      `not audited (cluster-scoped; --namespace audits only namespaced objects and those Namespaces): ${result.clusterScopedNotAudited.join(', ')}`,
    );
  if (result.drift) {
    const d = summary.drift;
    out.push(
      `drift against Git (${result.drift.declared} declared): ${d.missing} missing, ${d.undeclared} undeclared, ${d.fields} with field drift, ${d.image} image`,
    );
    if (summary.breakGlass && result.drift.breakGlass.length > 0)
      out.push(
        `break-glass changes until Git matches: ${summary.breakGlass.open} open, ${summary.breakGlass.resolved} resolved`,
      );
  }
  const namespaces = new Map<string, { results: AuditedObject[]; drift: DriftEntry[] }>();
  const at = (namespace: string | undefined) => {
    const key = namespace ?? '';
    let entry = namespaces.get(key);
    if (!entry) namespaces.set(key, (entry = { results: [], drift: [] }));
    return entry;
  };
  for (const audited of result.audited)
    if (audited.results.some(attention)) at(reportNamespace(audited.object)).results.push(audited);
  for (const entry of result.drift?.entries ?? [])
    at(entry.type === 'missing' ? entry.object.namespace : reportNamespace(entry.object)).drift.push(entry);
  for (const [namespace, { results, drift }] of [...namespaces].sort(([a], [b]) => a.localeCompare(b))) {
    out.push('', namespace === '' ? 'cluster-scoped' : `namespace ${namespace}`);
    if (results.length > 0) {
      const rows = [['OBJECT', 'POLICY', 'STATUS', 'ACTION', 'MESSAGE']];
      for (const audited of results)
        for (const r of audited.results.filter(attention))
          rows.push([
            nameOf(audited.object),
            r.policy,
            r.status,
            r.action,
            r.findings.length > 0
              ? r.findings.map((f) => `${f.path}: ${f.message}`).join('; ')
              : (r.reason ?? ''),
          ]);
      out.push(...table(rows));
    }
    if (drift.length > 0) {
      out.push('  drift:');
      out.push(
        ...table([['OBJECT', 'DRIFT', 'WHAT', 'CHANGED BY'], ...drift.flatMap(driftLines)]).map(
          (l) => `  ${l}`,
        ),
      );
    }
  }
  const changes = result.drift?.breakGlass ?? [];
  if (changes.length > 0) {
    out.push('', 'break-glass changes (open until Git matches the live object):');
    out.push(
      ...table([
        ['OBJECT', 'TICKET', 'REQUESTER', 'STATE', 'STILL DIFFERS FROM GIT', 'ANNOTATED BY'],
        ...changes.map((change) => [
          `${change.object.namespace ? `${change.object.namespace}/` : ''}${change.object.kind}/${change.object.name}`,
          change.ticket ?? '?',
          change.requester ?? '?',
          change.state,
          change.source === undefined
            ? 'not declared in Git'
            : change.fields.map((f) => f.path).join(', ') || '-',
          change.changedBy
            ? `${change.changedBy.manager}${change.changedBy.time ? ` ${change.changedBy.time}` : ''}`
            : '?',
        ]),
      ]),
    );
  }
  const images = (result.drift?.images ?? []).filter((row) => row.declared !== undefined || row.drift);
  if (images.length > 0) {
    out.push('', 'images (declared / live / running):');
    out.push(
      ...table([
        ['WORKLOAD', 'CONTAINER', 'DECLARED', 'LIVE', 'RUNNING', ''],
        ...images.map((row) => [
          `${row.namespace ? `${row.namespace}/` : ''}${row.kind}/${row.name}`,
          row.container,
          row.declared ?? '-',
          row.live,
          row.running.map((r) => `${r.digest.slice(0, 19)} ×${r.pods.length}`).join(', ') || '-',
          row.drift ? 'DRIFT' : '',
        ]),
      ]),
    );
  }
  if (namespaces.size === 0 && changes.length === 0) out.push('', 'nothing to report');
  return `${out.join('\n')}\n`;
}

function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** SARIF 2.1.0: one rule per policy and drift type; live objects located as `cluster/<namespace>/<Kind>/<name>`. */
export function auditSarif(result: AuditResult): Record<string, unknown> {
  const rules = new Map<string, Record<string, unknown>>();
  const results: Record<string, unknown>[] = [];
  const location = (uri: string, line = 1, logical?: string) => ({
    physicalLocation: { artifactLocation: { uri }, region: { startLine: line } },
    ...(logical ? { logicalLocations: [{ fullyQualifiedName: logical, kind: 'resource' }] } : {}),
  });
  const liveUri = (o: { namespace?: string; kind: string; name: string }) =>
    `cluster/${o.namespace ?? '_cluster'}/${o.kind}/${o.name}`;
  for (const audited of result.audited)
    for (const r of audited.results.filter(attention)) {
      if (!rules.has(r.policy))
        rules.set(r.policy, {
          id: r.policy,
          shortDescription: { text: `tollgate policy ${r.policy}` },
          help: { text: `See the ${r.policy} policy README in tollgate's policies/ folder.` },
          properties: { version: r.version, ...(r.controls ? { tags: r.controls } : {}) },
        });
      const level =
        r.status === 'warn' || r.action === 'warn' ? 'warning' : r.action === 'deny' ? 'error' : 'note';
      const texts =
        r.findings.length > 0 ? r.findings.map((f) => `${f.path}: ${f.message}`) : [r.reason ?? r.status];
      for (const text of texts)
        results.push({
          ruleId: r.policy,
          level,
          message: { text: `${nameOf(audited.object)}: ${text}` },
          locations: [location(liveUri(audited.object), 1, liveUri(audited.object))],
          partialFingerprints: { 'tollgate/v1': fingerprint(r.policy, liveUri(audited.object), text) },
        });
    }
  for (const entry of result.drift?.entries ?? []) {
    const ruleId = `drift/${entry.type}`;
    if (!rules.has(ruleId))
      rules.set(ruleId, {
        id: ruleId,
        shortDescription: { text: `drift against Git: ${entry.type}` },
        help: {
          text: 'The live cluster differs from what Git declares. Bring Git and the cluster back together: revert the live change, or commit it to Git.',
        },
      });
    const uri = entry.source ? entry.source.file : liveUri(entry.object);
    const texts = entry.fields?.length
      ? entry.fields.map(
          (f) =>
            `${f.path}: Git declares ${show(f.declared)}, live is ${show(f.live)}${f.changedBy ? `, changed by ${f.changedBy.manager}` : ''}`,
        )
      : [entry.message];
    for (const text of texts)
      results.push({
        ruleId,
        level: 'warning',
        message: {
          text: `${nameOf(entry.object)}: ${text}${entry.source ? ` (${sourceText(entry.source)})` : ''}`,
        },
        locations: [location(uri, entry.source?.line ?? 1, liveUri(entry.object))],
        partialFingerprints: { 'tollgate/v1': fingerprint(ruleId, liveUri(entry.object), text) },
      });
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'tollgate',
            version: TOLLGATE_VERSION,
            informationUri: 'https://tollgate.dev',
            rules: [...rules.values()],
          },
        },
        automationDetails: { id: `tollgate-audit/${result.cluster}/` },
        results: results.slice(0, 25_000),
      },
    ],
  };
}
