/**
 * The evidence report as one self-contained HTML file an auditor opens and prints: inline CSS with
 * print rules, an inline SVG timeline of decisions per day, tables, no script and no external
 * asset (a Content-Security-Policy forbids loading any).
 */
import type { ChangeRef, ControlEvidence, DayCounts, EvidenceReport, SourceCounts } from './report.ts';

/** Rows of the long tables (denials) shown in the HTML; the JSON and CSV carry every row. */
export const htmlRowLimit = 2000;

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (char) => escapes[char] as string);
}

const day = (iso: string): string => iso.slice(0, 10);
const minute = (iso: string): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '');

function table(id: string, headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty" id="${id}-empty">${escapeHtml(empty)}</p>`;
  const head = headers.map((header) => `<th scope="col">${escapeHtml(header)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<table id="${id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A stacked bar per day: allowed (grey), warned (amber), denied (red). */
function timeline(days: readonly DayCounts[]): string {
  if (days.length === 0) return '<p class="empty">No decisions in the period.</p>';
  const width = 900;
  const height = 180;
  const bar = Math.max(2, Math.floor((width - 40) / days.length) - 2);
  const max = Math.max(1, ...days.map((d) => d.allowed + d.warned + d.denied));
  const scale = (n: number) => (n / max) * (height - 40);
  const bars = days
    .map((d, i) => {
      const x = 30 + i * (bar + 2);
      let y = height - 20;
      const parts: string[] = [];
      for (const [count, cls] of [
        [d.allowed, 'allowed'],
        [d.warned, 'warned'],
        [d.denied, 'denied'],
      ] as const) {
        const h = scale(count);
        y -= h;
        if (count > 0)
          parts.push(
            `<rect class="${cls}" x="${x}" y="${y.toFixed(1)}" width="${bar}" height="${h.toFixed(1)}"/>`,
          );
      }
      const label =
        i % Math.ceil(days.length / 10) === 0
          ? `<text x="${x}" y="${height - 5}">${escapeHtml(d.date.slice(5))}</text>`
          : '';
      return `<g><title>${escapeHtml(`${d.date}: ${d.allowed} allowed, ${d.warned} warned, ${d.denied} denied`)}</title>${parts.join('')}${label}</g>`;
    })
    .join('');
  return `<svg class="timeline" viewBox="0 0 ${width} ${height}" role="img" aria-label="Decisions per day"><text x="0" y="12">${max}</text><line x1="28" y1="${height - 20}" x2="${width}" y2="${height - 20}"/>${bars}</svg>
<p class="legend"><span class="key allowed"></span> allowed <span class="key warned"></span> warned <span class="key denied"></span> denied</p>`;
}

/** `allowed / denied / warned` of one source, or a dash when it decided nothing. */
const counts = (c: SourceCounts): string =>
  c.decisions === 0 ? '—' : `<span class="counts">${c.allowed} / ${c.denied} / ${c.warned}</span>`;

/** Where a decision was made: the admission request, or the CI run and file, or the audit. */
function origin(d: ChangeRef): string {
  if (d.source === 'ci') {
    const ci = d.ci ?? {};
    const where = [ci.repository, ci.ref, ci.commit ? ci.commit.slice(0, 12) : undefined]
      .filter(Boolean)
      .join(' ');
    return `CI${where ? ` ${escapeHtml(where)}` : ''}${ci.actor ? ` by ${escapeHtml(ci.actor)}` : ''}${d.file ? `<br><small>${escapeHtml(d.file)}</small>` : ''}`;
  }
  if (d.source === 'audit') return 'audit';
  return `admission${d.user ? ` by ${escapeHtml(d.user)}` : ''}`;
}

function controlDays(control: ControlEvidence): string {
  const rows = control.days.map((d) => [
    escapeHtml(d.date),
    String(d.allowed),
    String(d.denied),
    String(d.warned),
  ]);
  return `<section class="control-detail" id="control-${escapeHtml(control.id)}"><h3>${escapeHtml(control.id)}</h3>
<p>Policies: ${control.policies.map((p) => `${escapeHtml(p.policy)} ${escapeHtml(p.versions.join(', '))}`).join('; ')}. Bundles: ${escapeHtml(control.bundles.map((digest) => digest.slice(0, 19)).join(', '))}.</p>
${table(`days-${control.id}`, ['Day (UTC)', 'Allowed', 'Denied', 'Warned'], rows, 'No decisions for this control in the period.')}</section>`;
}

const css = `
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; }
body { margin: 2rem auto; max-width: 1100px; padding: 0 1rem; font-size: 14px; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 2px solid #1b1f24; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid #c9ced6; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eef1f5; } td.num { text-align: right; }
.status { display: inline-block; padding: .3rem .8rem; font-weight: 700; border-radius: 4px; }
.verified { background: #d7f5dd; color: #0b5d1e; } .broken { background: #ffd9d9; color: #8b0000; } .no-log { background: #fff1c2; }
.expired { color: #8b0000; font-weight: 700; } .empty { color: #57606a; font-style: italic; }
.timeline { width: 100%; height: auto; } .timeline text { font-size: 10px; fill: #57606a; } .timeline line { stroke: #57606a; }
rect.allowed, .key.allowed { fill: #9aa5b1; background: #9aa5b1; } rect.warned, .key.warned { fill: #e3a008; background: #e3a008; }
rect.denied, .key.denied { fill: #c81e1e; background: #c81e1e; } .key { display: inline-block; width: 10px; height: 10px; }
code { font-size: 12px; word-break: break-all; } .counts { white-space: nowrap; }
@media print { body { margin: 0; max-width: none; font-size: 10px; } h2 { break-after: avoid; } tr { break-inside: avoid; }
  section.control-detail { break-inside: avoid; } a { color: inherit; text-decoration: none; } }
@page { size: A4 landscape; margin: 12mm; }
`;

/** Renders the report as one self-contained HTML page. */
export function renderHtml(report: EvidenceReport): string {
  const v = report.verification;
  const firstBreak = v.breaks[0];
  const status =
    v.status === 'verified'
      ? `<span class="status verified" id="verification-status">Log verified</span> every writer’s chain is whole${v.signaturesChecked ? ' and every checkpoint signature verifies against the trusted keys' : ' (checkpoint signatures not checked: no trusted keys given)'}${v.allowOpen ? '; writers still running were accepted' : ''}.`
      : v.status === 'broken'
        ? `<span class="status broken" id="verification-status">Log BROKEN</span> first broken line: <code>${escapeHtml(`${firstBreak?.file}:${firstBreak?.line}`)}</code> ${escapeHtml(firstBreak?.reason)}`
        : '<span class="status no-log" id="verification-status">No decision log given</span>';
  const controls = table(
    'controls',
    [
      'Control',
      'Policies (versions)',
      'Bundles',
      'Decisions',
      'Allowed',
      'Denied',
      'Warned',
      'Admission (allowed / denied / warned)',
      'CI',
      'Audit',
      'Break-glass',
      'Exemptions',
      'Drift (open / resolved)',
    ],
    report.controls.map((c) => [
      `<a href="#control-${escapeHtml(c.id)}">${escapeHtml(c.id)}</a>`,
      c.policies.map((p) => `${escapeHtml(p.policy)} ${escapeHtml(p.versions.join(', '))}`).join('<br>'),
      String(c.bundles.length),
      String(c.totals.decisions),
      String(c.totals.allowed),
      String(c.totals.denied),
      String(c.totals.warned),
      counts(c.sources.admission),
      counts(c.sources.ci),
      counts(c.sources.audit),
      String(c.breakGlass),
      String(c.exemptions),
      c.drift.open + c.drift.resolved === 0 ? '—' : `${c.drift.open} / ${c.drift.resolved}`,
    ]),
    'No control ids in the period (no decisions and no bundles given).',
  );
  const bundles = table(
    'bundles',
    ['Bundle', 'Digest', 'Active (first – last decision)', 'Decisions', 'Signature', 'Key ids'],
    report.bundles.map((b) => [
      `${escapeHtml(b.name)} ${escapeHtml(b.version)}${b.file ? `<br><small>${escapeHtml(b.file)}</small>` : ''}`,
      `<code>${escapeHtml(b.digest)}</code>`,
      `${escapeHtml(minute(b.firstSeen))} – ${escapeHtml(minute(b.lastSeen))}`,
      String(b.decisions),
      `${escapeHtml(b.signature)}${b.signatureAlg ? ` (${escapeHtml(b.signatureAlg)})` : ''}`,
      escapeHtml(b.keyIds.join(', ')),
    ]),
    'No bundle decided in the period.',
  );
  const glass = table(
    'break-glass',
    ['Time', 'Ticket', 'Requester', 'Approvers', 'Scope', 'Expires', 'What changed', 'Git caught up'],
    report.breakGlass.map((g) => [
      escapeHtml(minute(g.time)),
      escapeHtml(g.ticket),
      escapeHtml(g.requester),
      escapeHtml(g.approvers.join(', ')),
      escapeHtml(
        Object.entries(g.scope)
          .map(([key, value]) => `${key}: ${Array.isArray(value) ? value.join(', ') : String(value)}`)
          .join('; '),
      ),
      escapeHtml(minute(g.expires)),
      `${escapeHtml(g.operation)} ${escapeHtml(g.kind)} ${escapeHtml(g.namespace ? `${g.namespace}/` : '')}${escapeHtml(g.name)} by ${escapeHtml(g.user)}<br><small>${escapeHtml(g.reason)}</small>`,
      `${escapeHtml(g.git.status)}<br><small>${escapeHtml(g.git.detail)}</small>`,
    ]),
    'No break-glass approval was used in the period.',
  );
  const shown = report.denials.slice(0, htmlRowLimit);
  const denials = `${table(
    'denials',
    ['Time', 'Where', 'Change', 'Policies (version: fields)', 'Controls', 'Bundle', 'Log line'],
    shown.map((d) => [
      escapeHtml(minute(d.time)),
      origin(d),
      `${escapeHtml(d.operation)} ${escapeHtml(d.kind)} ${escapeHtml(d.namespace ? `${d.namespace}/` : '')}${escapeHtml(d.name)}${d.dryRun ? ' (dry run)' : ''}`,
      d.policies
        .map((p) => `${escapeHtml(p.policy)} ${escapeHtml(p.version)}: ${escapeHtml(p.fields.join(', '))}`)
        .join('<br>'),
      escapeHtml(d.controls.join(', ')),
      escapeHtml(d.bundle),
      `<code>${escapeHtml(d.writer)} #${d.seq}</code>`,
    ]),
    'Nothing was denied in the period.',
  )}${report.denials.length > shown.length ? `<p id="denials-more">${report.denials.length - shown.length} more denials are in the JSON and CSV reports (the HTML shows the first ${htmlRowLimit}).</p>` : ''}`;
  const exemptions = table(
    'exemptions',
    ['Policy', 'Ticket', 'Reason', 'Owner', 'Expires', 'Status', 'Scope', 'Bundle', 'Used'],
    report.exemptions.map((e) => [
      escapeHtml(e.policy),
      escapeHtml(e.ticket),
      escapeHtml(e.reason),
      escapeHtml(e.owner || '—'),
      escapeHtml(e.expires),
      e.expired ? '<span class="expired">EXPIRED</span>' : 'in force',
      escapeHtml(e.scope),
      escapeHtml(e.bundle),
      String(e.used),
    ]),
    'No exemption in the active bundles (pass --bundles DIR to read them).',
  );
  const freeze = table(
    'freeze-windows',
    [
      'Entity',
      'Window',
      'Local time',
      'Emergency changes (break-glass)',
      'Denied by the freeze',
      'Other allowed changes',
    ],
    report.freezeWindows.map((f) => [
      escapeHtml(f.entity),
      escapeHtml(f.window),
      `${escapeHtml(f.startLocal.replace('T', ' '))} – ${escapeHtml(f.endLocal.replace('T', ' '))} ${escapeHtml(f.zone)}`,
      String(f.emergencyChanges),
      String(f.denied),
      String(f.otherChanges),
    ]),
    'No freeze window in the period (or no bundle with freeze-windows given).',
  );
  const resolution = (d: EvidenceReport['drift'][number]): string =>
    d.resolution === 'resolved'
      ? `resolved ${escapeHtml(minute(d.resolvedAt ?? ''))}`
      : '<span class="expired">open</span>';
  const drift = table(
    'drift',
    ['Type', 'Object', 'Finding', 'Changed by', 'First seen', 'Resolution', 'Controls (policies)'],
    report.drift.map((d) => [
      escapeHtml(d.type),
      escapeHtml(d.object),
      escapeHtml(d.message),
      escapeHtml(d.changedBy ?? ''),
      escapeHtml(minute(d.firstSeen)),
      resolution(d),
      `${escapeHtml(d.controls.join(', '))}${d.policies.length > 0 ? `<br><small>${escapeHtml(d.policies.join(', '))}</small>` : ''}`,
    ]),
    report.auditRuns.length === 0
      ? 'No drift audit given (--audit JSON).'
      : 'No drift found by the audits in the period.',
  );
  const driftControls = [...new Set(report.drift.flatMap((d) => d.controls))].sort();
  const driftPerControl = driftControls
    .map((id) => {
      const entries = report.drift.filter((d) => d.controls.includes(id));
      return `<section class="control-detail" id="drift-${escapeHtml(id)}"><h3>${escapeHtml(id)}</h3>
${table(
  `drift-control-${id}`,
  ['Type', 'Object', 'Finding', 'First seen', 'Resolution'],
  entries.map((d) => [
    escapeHtml(d.type),
    escapeHtml(d.object),
    escapeHtml(d.message),
    escapeHtml(minute(d.firstSeen)),
    resolution(d),
  ]),
  '',
)}</section>`;
    })
    .join('\n');
  const ciRuns = table(
    'ci-runs',
    [
      'Time',
      'Repository',
      'Ref',
      'Commit',
      'Actor',
      'Run',
      'Bundle',
      'Resources',
      'Denied',
      'Result',
      'Log line',
    ],
    report.ciRuns.map((r) => [
      escapeHtml(minute(r.time)),
      escapeHtml(r.ci.repository ?? ''),
      escapeHtml(r.ci.ref ?? ''),
      `<code>${escapeHtml((r.ci.commit ?? '').slice(0, 12))}</code>`,
      escapeHtml(r.ci.actor ?? ''),
      escapeHtml([r.ci.workflow, r.ci.run].filter(Boolean).join(' ')),
      escapeHtml(r.bundle),
      String(r.resources),
      String(r.denied),
      r.result === 'fail' ? '<span class="expired">failed</span>' : 'passed',
      `<code>${escapeHtml(r.writer)} #${r.seq}</code>`,
    ]),
    'No tollgate check run wrote to the decision log in the period (tollgate check --decision-log FILE).',
  );
  const writers = table(
    'writers',
    [
      'Writer',
      'Files',
      'Seq',
      'Lines',
      'Checkpoints (signed)',
      'First – last line',
      'Closed',
      'First broken line',
    ],
    v.writers.map((w) => [
      `<code>${escapeHtml(w.writer)}</code>`,
      String(w.files.length),
      `${w.firstSeq}–${w.lastSeq}`,
      String(w.lines),
      `${w.checkpoints} (${w.signedCheckpoints}${w.keyIds.length > 0 ? `, ${escapeHtml(w.keyIds.join(', '))}` : ''})`,
      `${escapeHtml(minute(w.firstTime ?? ''))} – ${escapeHtml(minute(w.lastTime ?? ''))}`,
      w.closed ? 'yes' : 'no (open)',
      w.broken
        ? `<code>${escapeHtml(`${w.broken.file}:${w.broken.line}`)}</code> ${escapeHtml(w.broken.reason)}`
        : '—',
    ]),
    'No writer found in the log.',
  );
  const breaks = table(
    'breaks',
    ['File:line', 'Writer', 'Why'],
    v.breaks.map((b) => [
      `<code>${escapeHtml(`${b.file}:${b.line}`)}</code>`,
      escapeHtml(b.writer ?? ''),
      escapeHtml(b.reason),
    ]),
    'No broken line.',
  );
  const s = report.summary;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tollgate evidence report ${escapeHtml(day(report.period.from))} – ${escapeHtml(day(report.period.to))}</title>
<style>${css}</style></head>
<body>
<header><h1>Evidence report: policy controls</h1>
<p>Period <strong>${escapeHtml(minute(report.period.from))}</strong> to <strong>${escapeHtml(minute(report.period.to))}</strong> (end exclusive). Generated ${escapeHtml(minute(report.generatedAt))} by tollgate ${escapeHtml(report.tollgateVersion)}.</p>
<p>${status}</p>
<p id="summary">${s.decisions} decisions: ${s.allowed} allowed, ${s.denied} denied, ${s.warned} warned (admission ${s.sources.admission.decisions}, CI ${s.sources.ci.decisions} in ${s.ciRuns} runs, audit ${s.sources.audit.decisions}); ${s.breakGlass} break-glass changes; ${s.writers} log writers; ${v.lines} log lines in ${v.files.length} files.</p></header>
<h2 id="controls-heading">Controls</h2>
${controls}
<h2>Decisions per day</h2>
${timeline(report.days)}
<h2>Policy bundles active in the period</h2>
${bundles}
<h2>Break-glass (emergency changes)</h2>
${glass}
<h2>Exemptions</h2>
${exemptions}
<h2>Freeze windows</h2>
${freeze}
<h2>Drift findings</h2>
${drift}
<h2>Drift per control</h2>
${driftPerControl || '<p class="empty">No drift finding in the period.</p>'}
<h2>CI runs</h2>
${ciRuns}
<h2>Denials</h2>
${denials}
<h2>Decision counts per control and day</h2>
${report.controls.map(controlDays).join('\n')}
<h2>Log verification</h2>
<p>${status}</p>
<p>Files: ${v.files.map((file) => `<code>${escapeHtml(file)}</code>`).join(', ') || '—'}</p>
${writers}
${breaks}
</body></html>
`;
}
