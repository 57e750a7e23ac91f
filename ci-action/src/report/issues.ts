/**
 * One flat list of what a check run found, shared by every output format: policy findings and
 * policy errors (a policy that could not evaluate is never a pass), each with a stable fingerprint.
 */
import { createHash } from 'node:crypto';
import type { ObjectRef } from '../../../policies/index.ts';
import type { LocatedFinding, ResourceReport } from '../gate/check.ts';

/** The actions that produce output (an `off` policy never does). */
export type ReportedAction = 'deny' | 'warn' | 'audit';

/** A finding or a policy error, placed in its file. */
export interface Issue {
  kind: 'finding' | 'error';
  policy: string;
  action: ReportedAction;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Template named by helm's `# Source:` comment, when the manifest was rendered. */
  renderedFrom?: string;
  object: ObjectRef;
  /** JSON path of the offending field (empty for a policy error). */
  path: string;
  message: string;
  fix?: string;
  /** Stable identity across commits: file, object, policy and path; never line numbers. */
  fingerprint: string;
  /** Only with a baseline: whether the base ref had the same issue. */
  baseline?: 'new' | 'existing';
}

/**
 * Stable fingerprint of an issue: sha256 over file, object (group/kind, namespace, name), policy and
 * path, so a finding keeps its identity when lines move (used for baselines and SARIF partialFingerprints).
 */
export function fingerprintOf(file: string, object: ObjectRef, policy: string, path: string): string {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
  const key = [file, group, object.kind, object.namespace ?? '', object.name ?? '', policy, path].join('\0');
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

/** Flattens resource reports into issues, in report order. */
export function collectIssues(reports: readonly ResourceReport[]): Issue[] {
  const issues: Issue[] = [];
  for (const report of reports) {
    for (const result of report.results) {
      if (result.status === 'error' && result.action !== 'off') {
        issues.push({
          kind: 'error',
          policy: result.policy,
          action: result.action,
          file: report.file,
          line: report.line,
          column: 1,
          endLine: report.line,
          endColumn: 1,
          object: report.object,
          path: '',
          message: `could not evaluate: ${result.reason ?? 'unknown error'}`,
          fingerprint: fingerprintOf(report.file, report.object, result.policy, '<error>'),
        });
      }
      for (const finding of result.findings) {
        if (finding.action === 'off') continue;
        issues.push(issueOf(report, finding, finding.action));
      }
    }
  }
  return issues;
}

function issueOf(report: ResourceReport, finding: LocatedFinding, action: ReportedAction): Issue {
  return {
    kind: 'finding',
    policy: finding.policy,
    action,
    file: finding.file,
    line: finding.line,
    column: finding.column,
    endLine: finding.endLine,
    endColumn: finding.endColumn,
    ...(finding.renderedFrom ? { renderedFrom: finding.renderedFrom } : {}),
    object: report.object,
    path: finding.path,
    message: finding.message,
    fix: finding.fix,
    fingerprint: fingerprintOf(finding.file, report.object, finding.policy, finding.path),
  };
}

/** `Kind/name in namespace`, for messages. */
export function objectLabel(object: ObjectRef): string {
  return `${object.kind}/${object.name ?? '(unnamed)'}${object.namespace ? ` in ${object.namespace}` : ''}`;
}

/** Marks issues new or existing against the fingerprints found on the baseline ref. */
export function classifyAgainstBaseline(issues: readonly Issue[], baseline: ReadonlySet<string>): Issue[] {
  return issues.map((issue) => ({
    ...issue,
    baseline: baseline.has(issue.fingerprint) ? 'existing' : 'new',
  }));
}

/** Whether an issue fails the gate for a `fail-on` level (with a baseline, only new issues count). */
export function failsGate(issue: Issue, failOn: 'deny' | 'warn'): boolean {
  if (issue.baseline === 'existing') return false;
  return issue.action === 'deny' || (failOn === 'warn' && issue.action === 'warn');
}
