/**
 * Freeze status for the job summary: per legal entity, whether a freeze window is in force at the
 * evaluation instant, until when, and when the next one begins — computed with the freeze-windows
 * policy's own pure calendar functions, so the summary says what the policy enforces — plus the
 * resources the policy actually blocked in this run.
 */
import type { CompiledBundle, FreezeWindow } from '../../../policies/index.ts';
import {
  describeLocal,
  freezeParamsIn,
  freezeStatusAt,
  loadHolidayCalendars,
} from '../../../policies/index.ts';
import type { ResourceReport } from '../gate/check.ts';
import { objectLabel } from '../report/issues.ts';
import { cell } from '../report/summary.ts';
import type { FreezeStatus } from '../report/summary.ts';

const POLICY = 'freeze-windows';

function when(window: FreezeWindow, edge: 'start' | 'end'): string {
  const local = edge === 'start' ? window.startLocal : window.endLocal;
  const instant = edge === 'start' ? window.start : window.end;
  return `${describeLocal(local)} ${window.zone} (${instant.toISOString()})`;
}

/** Summary lines about freeze windows; undefined when the bundle does not configure the policy. */
export async function freezeSummary(
  bundle: CompiledBundle,
  reports: readonly ResourceReport[],
  now: Date,
): Promise<FreezeStatus | undefined> {
  const configured = bundle.policies.find((p) => p.policy.id === POLICY);
  const params = freezeParamsIn(bundle);
  if (!configured || !params) return undefined;
  await loadHolidayCalendars(params);
  const lines: string[] = [
    `At ${now.toISOString()} (enforcement in CI: ${configured.enforcement.ci}):`,
    '',
    '| Entity | Status | Window | Until | Next window begins |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const { entity, active, next } of freezeStatusAt(params, now)) {
    const nextText = next ? `${cell(next.window)}: ${cell(when(next, 'start'))}` : 'none within 400 days';
    if (active.length > 0) {
      const last = active.reduce((a, b) => (a.end > b.end ? a : b));
      lines.push(
        `| ${cell(entity.id)} | :snowflake: frozen | ${active.map((w) => cell(w.window + (w.closes ? ` (closes ${w.closes})` : ''))).join(', ')} | ${cell(when(last, 'end'))} | ${nextText} |`,
      );
    } else {
      lines.push(`| ${cell(entity.id)} | open | | | ${nextText} |`);
    }
  }
  const blocked: string[] = [];
  for (const report of reports) {
    for (const result of report.results) {
      if (result.policy !== POLICY) continue;
      for (const finding of result.findings) {
        blocked.push(`- ${finding.action} ${cell(objectLabel(report.object))}: ${cell(finding.message)}`);
      }
    }
  }
  lines.push('');
  if (blocked.length > 0) {
    lines.push(
      `${blocked.length} change(s) blocked by a freeze window in this run:`,
      '',
      ...blocked.slice(0, 50),
    );
    if (blocked.length > 50) lines.push(`- … and ${blocked.length - 50} more (see the findings table)`);
  } else {
    lines.push(
      'No checked change is blocked by a freeze window (windows apply only to the scopes the bundle sets).',
    );
  }
  return { lines };
}
