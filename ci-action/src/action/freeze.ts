/**
 * Freeze status for the job summary, read from the freeze-windows policy's findings and records in
 * the report (the policy owns the calendar; the summary never re-implements it).
 */
import type { CompiledBundle } from '../../../policies/engine/bundle.ts';
import type { ResourceReport } from '../check.ts';
import { cell } from '../report/summary.ts';
import type { FreezeStatus } from '../report/summary.ts';

const POLICY = 'freeze-windows';

/** Summary lines about freeze windows; undefined when the bundle does not configure the policy. */
export function freezeStatus(
  bundle: CompiledBundle,
  reports: readonly ResourceReport[],
  now: Date,
): FreezeStatus | undefined {
  const configured = bundle.policies.find((p) => p.policy.id === POLICY);
  if (!configured) return undefined;
  const lines: string[] = [];
  const seen = new Set<string>();
  let blocked = 0;
  for (const report of reports) {
    for (const result of report.results) {
      if (result.policy !== POLICY) continue;
      for (const finding of result.findings) {
        blocked++;
        const details = finding.details ?? {};
        const window = typeof details.window === 'string' ? details.window : undefined;
        const ends =
          typeof details.end === 'string'
            ? details.end
            : typeof details.ends === 'string'
              ? details.ends
              : undefined;
        const key = `${window ?? finding.message}|${ends ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        lines.push(
          `- :snowflake: **in a freeze window**${window ? ` \`${cell(window)}\`` : ''}${ends ? ` until ${cell(ends)}` : ''}: ${cell(finding.message)}`,
        );
      }
      for (const record of result.records ?? []) {
        const next = record.data.next;
        if (record.kind === 'next-window' && typeof next === 'string' && !seen.has(`next|${next}`)) {
          seen.add(`next|${next}`);
          lines.push(`- next window begins ${cell(next)}`);
        }
      }
    }
  }
  if (blocked === 0) {
    lines.unshift(
      `- :white_check_mark: no freeze window blocks the checked changes at ${now.toISOString()} (enforcement at CI: ${configured.enforcement.ci}).`,
    );
  }
  return { lines };
}
