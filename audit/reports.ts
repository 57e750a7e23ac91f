/**
 * `wgpolicyk8s.io/v1alpha2` PolicyReports (one set per namespace) and ClusterPolicyReports, the
 * format Kyverno and Policy Reporter read. Results are what needs attention (fail, warn, error),
 * results that recorded a fact (a break-glass approval used) and every drift; pass and skip are counted in the summary only, so a report stays far below the API
 * server's object size limit; a namespace with more results gets further reports of
 * {@link resultsPerReport} each. Created, then kept by server-side apply, with tollgate's field manager, so a
 * rerun changes nothing when nothing changed; reports tollgate wrote earlier that this run does not
 * write (objects gone, namespaces clean) are deleted.
 */
import type { KubeObject, PolicyResult, PolicyStatus } from '../policies/index.ts';
import type { AuditResult, LiveRef } from './audit.ts';
import { ClusterError, type ClusterClient } from './cluster.ts';
import type { BreakGlassChange } from './break-glass.ts';
import { sourceText, type DriftEntry } from './drift.ts';

/** The field manager of everything tollgate writes. */
export const fieldManager = 'tollgate';
/** The name (prefix) of tollgate's reports. */
export const reportName = 'tollgate-audit';
/** The label marking reports tollgate owns. */
export const managedByLabel = { 'app.kubernetes.io/managed-by': 'tollgate' } as const;
/** Results per report object (a result is about 1 KB; the API server stores up to 1.5 MB). */
export const resultsPerReport = 500;
/** The policy name drift results carry. */
export const driftPolicy = 'tollgate-drift';
/** The policy name of break-glass changes tracked until Git matches. */
export const breakGlassPolicy = 'tollgate-break-glass';

const group = 'wgpolicyk8s.io';
const version = 'v1alpha2';

/** One result of a PolicyReport. */
export interface ReportResult {
  policy: string;
  rule?: string;
  result: PolicyStatus;
  severity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
  category?: string;
  source: string;
  scored: boolean;
  message: string;
  timestamp: { seconds: number; nanos: number };
  resources: Array<{ apiVersion: string; kind: string; name: string; namespace?: string; uid?: string }>;
  properties?: Record<string, string>;
}

/** A PolicyReport or ClusterPolicyReport as tollgate writes it. */
export interface PolicyReportObject extends KubeObject {
  apiVersion: string;
  kind: 'PolicyReport' | 'ClusterPolicyReport';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  summary: Record<'pass' | 'fail' | 'warn' | 'error' | 'skip', number>;
  results: ReportResult[];
}

const severityOf = { deny: 'high', warn: 'medium', audit: 'low', off: 'info' } as const;

function policyResult(object: LiveRef, result: PolicyResult, seconds: number): ReportResult {
  const message =
    result.findings.length > 0
      ? result.findings.map((f) => `${f.path}: ${f.message}`).join('; ')
      : (result.reason ?? result.status);
  const properties: Record<string, string> = { version: result.version, action: result.action };
  if (result.controls?.length) properties['controls'] = result.controls.join(',');
  if (result.findings.length > 0) {
    properties['paths'] = result.findings.map((f) => f.path).join(',');
    properties['fix'] = [...new Set(result.findings.map((f) => f.fix))].join('; ').slice(0, 4000);
  }
  for (const record of result.records ?? []) {
    properties['record'] = record.kind;
    for (const [key, value] of Object.entries(record.data))
      properties[`record.${key}`] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return {
    policy: result.policy,
    rule: result.policy,
    result: result.status,
    severity: severityOf[result.action],
    ...(result.controls?.[0] ? { category: result.controls[0] } : {}),
    source: 'tollgate',
    scored: true,
    message: message.slice(0, 4000),
    timestamp: { seconds, nanos: 0 },
    resources: [resourceOf(object)],
    properties,
  };
}

function resourceOf(object: {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}): ReportResult['resources'][number] {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.name,
    ...(object.namespace !== undefined ? { namespace: object.namespace } : {}),
    ...(object.uid !== undefined ? { uid: object.uid } : {}),
  };
}

const show = (value: unknown): string => (value === undefined ? '(absent)' : JSON.stringify(value));

/** The PolicyReport results of one drift entry: one per drifted field, else one for the entry. */
export function driftResults(entry: DriftEntry, seconds: number): ReportResult[] {
  const base = {
    policy: driftPolicy,
    rule: entry.type,
    result: 'fail' as const,
    severity: 'medium' as const,
    category: 'drift',
    source: 'tollgate',
    scored: true,
    timestamp: { seconds, nanos: 0 },
    resources: [resourceOf(entry.object)],
  };
  const where = entry.source ? { source: sourceText(entry.source) } : {};
  if (entry.fields?.length)
    return entry.fields.map((field) => ({
      ...base,
      message: `${field.path}: Git declares ${show(field.declared)}, live is ${show(field.live)}${field.changedBy ? `, changed by ${field.changedBy.manager}${field.changedBy.time ? ` at ${field.changedBy.time}` : ''}` : ''}`,
      properties: {
        ...where,
        field: field.path,
        declared: show(field.declared),
        live: show(field.live),
        ...(field.changedBy ? managerProperties(field.changedBy) : {}),
      },
    }));
  const image = entry.image;
  return [
    {
      ...base,
      message: entry.message.slice(0, 4000),
      properties: {
        ...where,
        ...(entry.changedBy ? managerProperties(entry.changedBy) : {}),
        ...(image
          ? {
              field: `container ${image.container} image`,
              ...(image.declared !== undefined ? { declared: image.declared } : {}),
              live: image.live,
              running: image.running.map((r) => `${r.digest}=${r.pods.join('+')}`).join(','),
            }
          : {}),
      },
    },
  ];
}

/** The PolicyReport result of a break-glass change: `warn` while open, `pass` once Git matches. */
export function breakGlassResult(change: BreakGlassChange, seconds: number): ReportResult {
  const properties: Record<string, string> = { state: change.state };
  if (change.ticket) properties['ticket'] = change.ticket;
  if (change.requester) properties['requester'] = change.requester;
  if (change.approvers.length > 0) properties['approvers'] = change.approvers.join(',');
  if (change.expires) properties['expires'] = change.expires;
  if (change.source) properties['source'] = sourceText(change.source);
  if (change.fields.length > 0) properties['fields'] = change.fields.map((f) => f.path).join(',');
  if (change.problem) properties['problem'] = change.problem;
  return {
    policy: breakGlassPolicy,
    rule: change.state,
    result: change.state === 'open' ? 'warn' : 'pass',
    severity: 'medium',
    category: 'break-glass',
    source: 'tollgate',
    scored: true,
    message: change.message.slice(0, 4000),
    timestamp: { seconds, nanos: 0 },
    resources: [resourceOf(change.object)],
    properties: { ...properties, ...(change.changedBy ? managerProperties(change.changedBy) : {}) },
  };
}

function managerProperties(manager: { manager: string; operation?: string; time?: string }) {
  return {
    manager: manager.manager,
    ...(manager.operation ? { operation: manager.operation } : {}),
    ...(manager.time ? { changedAt: manager.time } : {}),
  };
}

/**
 * The namespace whose PolicyReport lists a live object's results: its own, and a Namespace's its
 * own too (what a tenant can read, and the same in a `--namespace` run, which writes no
 * ClusterPolicyReport, as in a run of the whole cluster); undefined: the ClusterPolicyReport.
 */
export function reportNamespace(object: {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}) {
  if (object.namespace !== undefined) return object.namespace;
  return object.apiVersion === 'v1' && object.kind === 'Namespace' ? object.name : undefined;
}

/**
 * Builds every report object of an audit: per namespace PolicyReports (a Namespace object's results
 * in its own), ClusterPolicyReports for the other cluster-scoped objects.
 */
export function buildReports(result: AuditResult): PolicyReportObject[] {
  const seconds = Math.floor(Date.parse(result.now) / 1000);
  const byScope = new Map<string, { results: ReportResult[]; summary: PolicyReportObject['summary'] }>();
  const scope = (namespace: string | undefined) => {
    const key = namespace ?? '';
    let entry = byScope.get(key);
    if (!entry) {
      entry = { results: [], summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 } };
      byScope.set(key, entry);
    }
    return entry;
  };
  for (const audited of result.audited) {
    const target = scope(reportNamespace(audited.object));
    for (const policy of audited.results) {
      target.summary[policy.status]++;
      if (reported(policy)) target.results.push(policyResult(audited.object, policy, seconds));
    }
  }
  for (const entry of result.drift?.entries ?? []) {
    // A Namespace Git declares but the cluster lacks has no PolicyReport to go to.
    const target = scope(entry.type === 'missing' ? entry.object.namespace : reportNamespace(entry.object));
    const results = driftResults(entry, seconds);
    target.summary.fail += results.length;
    target.results.push(...results);
  }
  for (const change of result.drift?.breakGlass ?? []) {
    const target = scope(reportNamespace(change.object));
    const reported = breakGlassResult(change, seconds);
    target.summary[reported.result]++;
    target.results.push(reported);
  }
  const reports: PolicyReportObject[] = [];
  for (const [namespace, { results, summary }] of [...byScope].sort(([a], [b]) => a.localeCompare(b))) {
    const chunks = Math.max(1, Math.ceil(results.length / resultsPerReport));
    for (let chunk = 0; chunk < chunks; chunk++) {
      const slice = results.slice(chunk * resultsPerReport, (chunk + 1) * resultsPerReport);
      reports.push({
        apiVersion: `${group}/${version}`,
        kind: namespace === '' ? 'ClusterPolicyReport' : 'PolicyReport',
        metadata: {
          name: chunk === 0 ? reportName : `${reportName}-${chunk + 1}`,
          ...(namespace !== '' ? { namespace } : {}),
          labels: { ...managedByLabel },
        },
        // The summary counts every result of the namespace; the first report carries it whole.
        summary: chunk === 0 ? summary : countResults(slice),
        results: slice,
      });
    }
  }
  return reports;
}

/** Results a report lists: what needs attention, and any result that recorded a fact (a break-glass used). */
export function reported(result: PolicyResult): boolean {
  return (
    result.status === 'fail' ||
    result.status === 'warn' ||
    result.status === 'error' ||
    (result.records?.length ?? 0) > 0
  );
}

function countResults(results: readonly ReportResult[]): PolicyReportObject['summary'] {
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.result]++;
  return summary;
}

function collectionOf(report: { kind: string; metadata: { namespace?: string } }): string {
  return report.kind === 'PolicyReport'
    ? `/apis/${group}/${version}/namespaces/${encodeURIComponent(report.metadata.namespace ?? '')}/policyreports`
    : `/apis/${group}/${version}/clusterpolicyreports`;
}

function reportPath(report: { kind: string; metadata: { name?: string; namespace?: string } }): string {
  return `${collectionOf(report)}/${encodeURIComponent(report.metadata.name ?? '')}`;
}

/** What writing the reports did. */
export interface WriteSummary {
  /** Reports written: created or applied. */
  readonly applied: number;
  /** Of those, reports created (tollgate had none of that name). */
  readonly created: number;
  /** Reports whose content was already what this run would write: not sent again. */
  readonly unchanged: number;
  readonly deleted: number;
}

/**
 * Reports written at once: the API server decodes, prunes and validates each against the CRD's
 * schema, and decodes it again for its watch cache, the costly part.
 */
const writeConcurrency = 4;
/** Existing reports read per list page (a report holds up to {@link resultsPerReport} results). */
const existingPageSize = 10;

/** JSON with object keys sorted, so a report read back from the API server compares with one built here. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null)
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** A result's identity across runs: everything but its timestamp. */
function resultKey(result: ReportResult): string {
  return canonical({ ...result, timestamp: undefined });
}

/**
 * Writes the reports and removes tollgate's reports this run no longer has. With `namespaces`
 * (`--namespace`) only those namespaces' PolicyReports are written and pruned, never a
 * ClusterPolicyReport: a run of some namespaces must not replace the whole cluster's. Tollgate's existing reports are read first, a page at a time: a result
 * found there unchanged keeps the timestamp it was first reported at, a report whose content is then
 * the same is not sent again (no write, no new `resourceVersion`, no watch event); a report not there
 * yet is created (a JSON POST: an apply patch is parsed as YAML, a fifth of the API server's time for
 * a new report) and the rest are applied by server-side apply (field manager `tollgate`), a few at a time.
 */
export async function writeReports(
  client: ClusterClient,
  reports: readonly PolicyReportObject[],
  namespaces?: ReadonlySet<string>,
): Promise<WriteSummary> {
  const wanted = new Map(
    reports
      .filter((report) => !namespaces || report.kind === 'PolicyReport')
      .map((report) => [reportPath(report), report]),
  );
  const unchangedPaths = new Set<string>();
  const existingPaths = new Set<string>();
  const stale: string[] = [];
  for (const [kind, path] of [
    ['PolicyReport', `/apis/${group}/${version}/policyreports`],
    ['ClusterPolicyReport', `/apis/${group}/${version}/clusterpolicyreports`],
  ] as const) {
    if (namespaces && kind === 'ClusterPolicyReport') continue;
    try {
      for await (const page of client.list(
        path,
        existingPageSize,
        `app.kubernetes.io/managed-by=${managedByLabel['app.kubernetes.io/managed-by']}`,
      ))
        for (const item of page) {
          if (namespaces && !namespaces.has(item.metadata?.namespace ?? '')) continue;
          const itemPath = reportPath({ kind, metadata: item.metadata ?? {} });
          const report = wanted.get(itemPath);
          if (!report) {
            stale.push(itemPath);
            continue;
          }
          existingPaths.add(itemPath);
          const existing = item as Partial<PolicyReportObject>;
          const firstSeen = new Map((existing.results ?? []).map((r) => [resultKey(r), r.timestamp]));
          for (const result of report.results) {
            const timestamp = firstSeen.get(resultKey(result));
            if (timestamp) result.timestamp = timestamp;
          }
          if (
            canonical(existing.results ?? []) === canonical(report.results) &&
            canonical(existing.summary) === canonical(report.summary) &&
            existing.metadata?.labels?.['app.kubernetes.io/managed-by'] ===
              managedByLabel['app.kubernetes.io/managed-by']
          )
            unchangedPaths.add(itemPath);
        }
    } catch (error) {
      if (error instanceof ClusterError && error.status === 404) throw missingCrds(path);
      throw error;
    }
  }
  let applied = 0;
  let createdCount = 0;
  const queue = [...wanted].filter(([path]) => !unchangedPaths.has(path)).map(([, report]) => report);
  const workers = Array.from({ length: Math.min(writeConcurrency, queue.length) }, async () => {
    for (let report = queue.shift(); report; report = queue.shift()) {
      const path = reportPath(report);
      try {
        // A report tollgate has not written yet is created (JSON); one that exists (or appeared
        // meanwhile, or carries no label of ours) is applied.
        const created =
          !existingPaths.has(path) && (await client.create(collectionOf(report), report, fieldManager));
        if (created) createdCount++;
        else await client.apply(path, report, fieldManager);
      } catch (error) {
        if (error instanceof ClusterError && error.status === 404) throw missingCrds(path);
        throw error;
      }
      applied++;
    }
  });
  await Promise.all(workers);
  let deleted = 0;
  for (const path of stale) {
    await client.delete(path);
    deleted++;
  }
  return { applied, created: createdCount, unchanged: unchangedPaths.size, deleted };
}

function missingCrds(path: string): ClusterError {
  return new ClusterError(
    'PATCH',
    path,
    404,
    'the cluster does not serve wgpolicyk8s.io/v1alpha2: install the PolicyReport CRDs (the chart does with audit.installCRDs)',
  );
}
