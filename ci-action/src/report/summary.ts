/**
 * The job summary (markdown for GITHUB_STEP_SUMMARY): verdict, bundle identity, counts per
 * policy, a table of findings linked to their lines, freeze status, and the exemptions and
 * break-glass approvals that were used. Kept under GitHub's 1 MiB per-step cap by truncating
 * the findings table with a note.
 */
import type { CompiledBundle } from '../../../policies/index.ts';
import { TOLLGATE_VERSION } from '../../../policies/index.ts';
import type { ResourceReport } from '../gate/check.ts';
import type { ManifestError } from '../gate/manifests.ts';
import type { AnnotationPlan, ChangedLines } from './github.ts';
import { onChangedLine, rankIssues } from './github.ts';
import type { Issue } from './issues.ts';
import { objectLabel } from './issues.ts';

/** GitHub's cap on one step's summary. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;

/** Where links to lines point: `${server}/${repository}/blob/${sha}/${prefix}${file}#Lx-Ly`. */
export interface LinkBase {
  server: string;
  repository: string;
  sha: string;
  /** Path of the working directory inside the repository (`git rev-parse --show-prefix`). */
  prefix: string;
}

/** A freeze-window line for the summary (from the freeze-windows policy when configured). */
export interface FreezeStatus {
  /** Markdown lines describing the current and next windows. */
  lines: string[];
}

/** Everything the summary shows. */
export interface SummaryInput {
  bundle: CompiledBundle;
  now: Date;
  reports: readonly ResourceReport[];
  inputErrors: readonly ManifestError[];
  issues: readonly Issue[];
  failed: boolean;
  failOn: 'deny' | 'warn';
  baseline?: { ref: string; commit: string };
  changed?: ChangedLines;
  annotations?: AnnotationPlan;
  links?: LinkBase;
  freeze?: FreezeStatus;
  /** Notes to show at the end (e.g. a fallback that was taken). */
  notes?: readonly string[];
  /** Byte budget (defaults to 1 MiB minus a safety margin). */
  limitBytes?: number;
}

/** Escapes text for a markdown table cell. */
export function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n/g, '<br>');
}

function code(text: string): string {
  return text.length === 0 ? '' : `<code>${cell(text)}</code>`;
}

/** Link to the lines of an issue, or the plain location when no repository is known. */
export function lineLink(issue: Pick<Issue, 'file' | 'line' | 'endLine'>, links?: LinkBase): string {
  const label = `${issue.file}:${issue.line}`;
  if (!links || issue.file === '-' || issue.file.startsWith('/') || issue.file.includes(':'))
    return cell(label);
  const path = `${links.prefix}${issue.file}`.split('/').map(encodeURIComponent).join('/');
  const range = issue.endLine > issue.line ? `#L${issue.line}-L${issue.endLine}` : `#L${issue.line}`;
  return `[${cell(label)}](${links.server}/${links.repository}/blob/${links.sha}/${path}${range})`;
}

const icon: Record<Issue['action'], string> = {
  deny: ':x:',
  warn: ':warning:',
  audit: ':information_source:',
};

/** Builds the summary markdown, within the byte budget. */
export function buildSummary(input: SummaryInput): string {
  const limit = input.limitBytes ?? SUMMARY_LIMIT_BYTES - 16 * 1024;
  const { bundle, issues } = input;
  const head: string[] = [];
  const newDenials = issues.filter((i) => i.action === 'deny' && i.baseline !== 'existing').length;
  const verdict = input.failed
    ? `:x: **tollgate denied this change** (${newDenials} ${input.baseline ? 'new ' : ''}denial${newDenials === 1 ? '' : 's'}${input.failOn === 'warn' ? ', failing on warnings too' : ''})`
    : ':white_check_mark: **tollgate passed**';
  head.push(`## tollgate policy gate`, '', verdict, '');
  head.push(
    `Bundle **${cell(bundle.identity.name)}** ${cell(bundle.identity.version)} \`${bundle.identity.digest}\` · tollgate ${TOLLGATE_VERSION} · evaluated at ${input.now.toISOString()}`,
    '',
  );
  const resources = input.reports.length;
  const denied = input.reports.filter((r) => r.decision === 'deny').length;
  head.push(
    `${resources} resource${resources === 1 ? '' : 's'} checked, ${denied} denied; findings: ` +
      `${count(issues, 'deny')} deny, ${count(issues, 'warn')} warn, ${count(issues, 'audit')} audit` +
      `${input.inputErrors.length > 0 ? `; **${input.inputErrors.length} input error(s)**` : ''}.`,
    '',
  );
  if (input.baseline) {
    const existing = issues.filter((i) => i.baseline === 'existing').length;
    head.push(
      `Baseline \`${cell(input.baseline.ref)}\` (${input.baseline.commit.slice(0, 12)}): ${issues.length - existing} new, ${existing} pre-existing finding(s); only new ones fail the build.`,
      '',
    );
  }
  if (input.annotations) {
    const { omitted } = input.annotations;
    const hidden = omitted.error + omitted.warning + omitted.notice;
    if (hidden > 0) {
      head.push(
        `> [!NOTE]\n> GitHub shows 10 error, 10 warning and 10 notice annotations per step: ${omitted.error} error(s), ${omitted.warning} warning(s) and ${omitted.notice} notice(s) more are listed below but not annotated.`,
        '',
      );
    }
  }
  // Counts per policy.
  head.push(
    '### Policies',
    '',
    '| Policy | CI action | Resources failing | deny | warn | audit | Errors | Skipped | Exempted |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const configured of bundle.policies) {
    const id = configured.policy.id;
    const results = input.reports.flatMap((r) => r.results.filter((x) => x.policy === id));
    const failing = results.filter((r) => r.status === 'fail' || r.status === 'warn').length;
    const mine = issues.filter((i) => i.policy === id);
    head.push(
      `| ${cell(id)} | ${configured.enforcement.ci} | ${failing} | ${count(mine, 'deny')} | ${count(mine, 'warn')} | ${count(mine, 'audit')} | ${results.filter((r) => r.status === 'error').length} | ${results.filter((r) => r.status === 'skip' && !r.exemption).length} | ${results.filter((r) => r.exemption).length} |`,
    );
  }
  head.push('');

  const tail: string[] = [];
  if (input.freeze) tail.push('### Freeze windows', '', ...input.freeze.lines, '');
  const used = exemptionRows(input.reports);
  if (used.length > 0) {
    tail.push(
      '### Exemptions and break-glass approvals used',
      '',
      '| Kind | Policy | Object | Ticket / approval | Reason | Expires |',
      '| --- | --- | --- | --- | --- | --- |',
      ...used,
      '',
    );
  }
  const expired = expiredRows(input.reports);
  if (expired.length > 0) {
    tail.push(
      '### Expired exemptions (no longer applied)',
      '',
      '| Policy | Object | Ticket | Expired |',
      '| --- | --- | --- | --- |',
      ...expired,
      '',
    );
  }
  if (input.notes && input.notes.length > 0)
    tail.push('### Notes', '', ...input.notes.map((n) => `- ${n}`), '');

  const findings: string[] = [];
  if (input.inputErrors.length > 0 || issues.length > 0) {
    findings.push(
      '### Findings',
      '',
      '| | Policy | Object | Location | Field | Message |',
      '| --- | --- | --- | --- | --- | --- |',
    );
  }
  const rows: string[] = [];
  for (const error of input.inputErrors) {
    rows.push(
      `| :x: input error | | | ${lineLink({ file: error.file, line: Math.max(1, error.line), endLine: Math.max(1, error.line) }, input.links)} | | ${cell(error.message)} |`,
    );
  }
  for (const issue of rankIssues(issues, input.changed)) {
    const tags: string[] = [issue.action];
    if (issue.baseline) tags.push(issue.baseline === 'new' ? 'new' : 'pre-existing');
    if (input.changed && onChangedLine(issue, input.changed)) tags.push('changed line');
    const template = issue.renderedFrom ? `<br>rendered from ${code(issue.renderedFrom)}` : '';
    rows.push(
      `| ${icon[issue.action]} ${tags.join(', ')} | ${cell(issue.policy)} | ${cell(objectLabel(issue.object))} | ${lineLink(issue, input.links)}${template} | ${code(issue.path)} | ${cell(issue.message)}${issue.fix ? `<br>**fix:** ${cell(issue.fix)}` : ''} |`,
    );
  }
  const encoder = new TextEncoder();
  const fixed = `${head.join('\n')}\n${findings.join('\n')}\n\n${tail.join('\n')}\n`;
  let budget = limit - encoder.encode(fixed).length - 512;
  const shown: string[] = [];
  for (const row of rows) {
    const size = encoder.encode(row).length + 1;
    if (size > budget) break;
    shown.push(row);
    budget -= size;
  }
  const more = rows.length - shown.length;
  const table =
    findings.length > 0
      ? `${findings.join('\n')}\n${shown.join('\n')}\n${more > 0 ? `\n> [!WARNING]\n> ${more} more finding(s) not shown: the job summary is limited to 1 MiB. The JSON report and SARIF file list them all.\n` : ''}\n`
      : '';
  return `${head.join('\n')}\n${table}${tail.join('\n')}\n`;
}

function count(issues: readonly Issue[], action: Issue['action']): number {
  return issues.filter((i) => i.action === action).length;
}

function exemptionRows(reports: readonly ResourceReport[]): string[] {
  const rows: string[] = [];
  for (const report of reports) {
    for (const result of report.results) {
      if (result.exemption) {
        rows.push(
          `| exemption | ${cell(result.policy)} | ${cell(objectLabel(report.object))} | ${cell(result.exemption.ticket)} | ${cell(result.exemption.reason)} | ${cell(result.exemption.expires)} |`,
        );
      }
      for (const record of result.records ?? []) {
        const data = record.data;
        const text = (key: string): string => (typeof data[key] === 'string' ? (data[key] as string) : '');
        const approvers = Array.isArray(data.approvers) ? data.approvers.map(String).join(', ') : '';
        const who = [
          text('requester') ? `requested by ${text('requester')}` : '',
          approvers ? `approved by ${approvers}` : '',
        ]
          .filter(Boolean)
          .join('; ');
        const id = text('ticket') || text('approval') || text('id');
        rows.push(
          `| ${cell(record.kind)} | ${cell(result.policy)} | ${cell(objectLabel(report.object))} | ${cell(id)}${who ? ` (${cell(who)})` : ''} | ${cell(text('reason') || JSON.stringify(data))} | ${cell(text('expires'))} |`,
        );
      }
    }
  }
  return rows;
}

function expiredRows(reports: readonly ResourceReport[]): string[] {
  const rows: string[] = [];
  for (const report of reports) {
    for (const result of report.results) {
      for (const expired of result.expiredExemptions ?? []) {
        rows.push(
          `| ${cell(result.policy)} | ${cell(objectLabel(report.object))} | ${cell(expired.ticket)} | ${cell(expired.expires)} |`,
        );
      }
    }
  }
  return rows;
}
