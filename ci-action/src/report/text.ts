/** Human-readable report: one block per finding, `file:line:column`, the policy, the field and the fix. */
import type { BundleIdentity, PolicyRecord } from '../../../policies/index.ts';
import type { CheckSummary, ResourceReport } from '../gate/check.ts';
import type { ManifestError } from '../gate/manifests.ts';

/** Renders the text report. */
export function formatText(
  reports: readonly ResourceReport[],
  inputErrors: readonly ManifestError[],
  summary: CheckSummary,
  bundle: BundleIdentity,
): string {
  const out: string[] = [];
  for (const error of inputErrors)
    out.push(`${error.file}:${error.line}:${error.column} error ${error.message}`);
  for (const report of reports) {
    const name = `${report.object.kind}/${report.object.name ?? '(unnamed)'}${report.object.namespace ? ` in ${report.object.namespace}` : ''}`;
    for (const result of report.results) {
      if (result.status === 'error') {
        out.push(
          `${report.file}:${report.line}:1 ${result.action === 'deny' ? 'deny' : 'warn'} ${result.policy} (${name}): error: ${result.reason ?? 'could not evaluate'}`,
        );
      }
      const controls = result.controls?.length ? `\n  controls: ${result.controls.join(', ')}` : '';
      for (const f of result.findings) {
        const source = f.renderedFrom ? ` (template ${f.renderedFrom})` : '';
        out.push(
          `${f.file}:${f.line}:${f.column} ${f.action} ${f.policy} ${name}${source}\n  ${f.path}: ${f.message}\n  fix: ${f.fix}${controls}`,
        );
      }
      if (result.exemption) {
        out.push(
          `${report.file}:${report.line}:1 note ${result.policy} ${name}: exempted by ${result.exemption.ticket} until ${result.exemption.expires} (${result.exemption.reason})`,
        );
      }
      for (const record of result.records ?? [])
        out.push(`${report.file}:${report.line}:1 note ${result.policy} ${name}: ${describeRecord(record)}`);
      for (const expired of result.expiredExemptions ?? []) {
        out.push(
          `${report.file}:${report.line}:1 note ${result.policy} ${name}: exemption ${expired.ticket} expired on ${expired.expires} and no longer applies`,
        );
      }
    }
  }
  // Unreadable input exits 2: never call that run "passed".
  const verdict =
    summary.denied > 0 ? 'DENIED' : summary.inputErrors > 0 ? 'FAILED (input errors)' : 'passed';
  out.push(
    `${summary.files} file(s), ${summary.resources} resource(s): ${summary.denied} denied, ${summary.warned} warned, ` +
      `${summary.errors} policy error(s), ${summary.inputErrors} input error(s) — ${verdict}\n` +
      `bundle ${bundle.name} ${bundle.version} (${bundle.digest})`,
  );
  return `${out.join('\n')}\n`;
}

/** One line for an auditable record, e.g. a break-glass approval that allowed the change. */
function describeRecord(record: PolicyRecord): string {
  const data = record.data;
  if (record.kind === 'break-glass') {
    const approvers = Array.isArray(data['approvers'])
      ? (data['approvers'] as unknown[]).map(String).join(', ')
      : '';
    return `break-glass ${String(data['ticket'] ?? '')} used: requested by ${String(data['requester'] ?? '')}, approved by ${approvers}`;
  }
  return `${record.kind} ${JSON.stringify(data)}`;
}
