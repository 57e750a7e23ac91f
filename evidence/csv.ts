/**
 * The evidence report as CSV files for GRC tools (RFC 4180, one file per table). Cells that a
 * spreadsheet would run as a formula (starting with =, +, -, @) are prefixed with a quote.
 */
import type { EvidenceReport } from './report.ts';

/** One CSV cell. */
export function csvCell(value: unknown): string {
  let text = Array.isArray(value)
    ? value.join('; ')
    : value === undefined || value === null
      ? ''
      : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csv(headers: string[], rows: unknown[][]): string {
  return `${[headers, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/** The CSV files of a report: file name → content. */
export function renderCsv(report: EvidenceReport): Record<string, string> {
  return {
    'controls.csv': csv(
      [
        'control',
        'policies',
        'bundles',
        'decisions',
        'allowed',
        'denied',
        'warned',
        'break_glass',
        'exemptions',
      ],
      report.controls.map((c) => [
        c.id,
        c.policies.map((p) => `${p.policy} ${p.versions.join('|')}`),
        c.bundles,
        c.totals.decisions,
        c.totals.allowed,
        c.totals.denied,
        c.totals.warned,
        c.breakGlass,
        c.exemptions,
      ]),
    ),
    'control-days.csv': csv(
      ['control', 'date', 'allowed', 'denied', 'warned'],
      report.controls.flatMap((c) => c.days.map((d) => [c.id, d.date, d.allowed, d.denied, d.warned])),
    ),
    'bundles.csv': csv(
      [
        'name',
        'version',
        'digest',
        'first_seen',
        'last_seen',
        'decisions',
        'signature',
        'alg',
        'key_ids',
        'file',
      ],
      report.bundles.map((b) => [
        b.name,
        b.version,
        b.digest,
        b.firstSeen,
        b.lastSeen,
        b.decisions,
        b.signature,
        b.signatureAlg,
        b.keyIds,
        b.file,
      ]),
    ),
    'denials.csv': csv(
      [
        'time',
        'user',
        'operation',
        'kind',
        'namespace',
        'name',
        'dry_run',
        'policies',
        'fields',
        'controls',
        'bundle',
        'writer',
        'seq',
        'uid',
      ],
      report.denials.map((d) => [
        d.time,
        d.user,
        d.operation,
        d.kind,
        d.namespace,
        d.name,
        d.dryRun,
        d.policies.map((p) => `${p.policy} ${p.version}`),
        d.policies.flatMap((p) => p.fields),
        d.controls,
        d.bundle,
        d.writer,
        d.seq,
        d.uid,
      ]),
    ),
    'break-glass.csv': csv(
      [
        'time',
        'ticket',
        'requester',
        'approvers',
        'reason',
        'scope',
        'expires',
        'operation',
        'kind',
        'namespace',
        'name',
        'user',
        'windows',
        'controls',
        'git',
        'git_detail',
        'writer',
        'seq',
      ],
      report.breakGlass.map((g) => [
        g.time,
        g.ticket,
        g.requester,
        g.approvers,
        g.reason,
        JSON.stringify(g.scope),
        g.expires,
        g.operation,
        g.kind,
        g.namespace,
        g.name,
        g.user,
        g.windows,
        g.controls,
        g.git.status,
        g.git.detail,
        g.writer,
        g.seq,
      ]),
    ),
    'exemptions.csv': csv(
      ['policy', 'ticket', 'reason', 'owner', 'expires', 'expired', 'scope', 'bundle', 'controls', 'used'],
      report.exemptions.map((e) => [
        e.policy,
        e.ticket,
        e.reason,
        e.owner,
        e.expires,
        e.expired,
        e.scope,
        e.bundle,
        e.controls,
        e.used,
      ]),
    ),
    'freeze-windows.csv': csv(
      [
        'entity',
        'window',
        'zone',
        'start',
        'end',
        'start_local',
        'end_local',
        'emergency_changes',
        'denied',
        'other_changes',
      ],
      report.freezeWindows.map((f) => [
        f.entity,
        f.window,
        f.zone,
        f.start,
        f.end,
        f.startLocal,
        f.endLocal,
        f.emergencyChanges,
        f.denied,
        f.otherChanges,
      ]),
    ),
    'drift.csv': csv(
      [
        'type',
        'object',
        'namespace',
        'message',
        'changed_by',
        'first_seen',
        'last_seen',
        'resolution',
        'resolved_at',
      ],
      report.drift.map((d) => [
        d.type,
        d.object,
        d.namespace,
        d.message,
        d.changedBy,
        d.firstSeen,
        d.lastSeen,
        d.resolution,
        d.resolvedAt,
      ]),
    ),
    'verification.csv': csv(
      [
        'status',
        'writer',
        'files',
        'first_seq',
        'last_seq',
        'lines',
        'checkpoints',
        'signed_checkpoints',
        'closed',
        'broken_file',
        'broken_line',
        'reason',
      ],
      report.verification.writers.map((w) => [
        report.verification.status,
        w.writer,
        w.files,
        w.firstSeq,
        w.lastSeq,
        w.lines,
        w.checkpoints,
        w.signedCheckpoints,
        w.closed,
        w.broken?.file,
        w.broken?.line,
        w.broken?.reason,
      ]),
    ),
  };
}
