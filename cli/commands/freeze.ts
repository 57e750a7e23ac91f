/**
 * `tollgate freeze status|calendar`: the freeze calendar of a bundle for people. Reuses the pure
 * calendar modules of policies/freeze-windows, so what it prints is what the policy enforces.
 */
import { parseArgs } from 'node:util';
import type {
  CompiledBundle,
  EntityCalendar,
  FreezeWindow,
  FreezeWindowsParams,
  Scope,
} from '../../policies/index.ts';
import {
  daysInMonth,
  describeLocal,
  entityWindows,
  formatInZone,
  formatWall,
  freezeParamsIn,
  freezeStatusAt,
  loadHolidayCalendars,
  TollgateError,
  toWallTime,
} from '../../policies/index.ts';
import { loadBundleFile } from '../../io/bundle-file.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';
import { parseNow } from '../flags.ts';

const help = `usage: tollgate freeze status [--bundle FILE] [--now ISO-8601] [--format text|json]
       tollgate freeze calendar --from YYYY-MM --to YYYY-MM [--bundle FILE] [--entity ID]
                                [--format text|ics|json]

status    per entity: frozen or open now, by which window, until when, and the next window.
calendar  every window starting in the months from..to (inclusive) in each entity's wall-clock
          time; --format ics writes an iCalendar (RFC 5545, UTC times) finance can subscribe to.

Windows are wall-clock times in each entity's IANA zone (start inclusive, end exclusive). A time
in a skipped DST hour moves to the first valid instant, in a repeated hour the earliest. Cron
windows: cron ORs day-of-month and day-of-week when both are restricted ("0 0 25-31 * 5" is the
25th-31st OR any Friday), so a bundle must set cronDayOr: true to accept such an expression.
`;

/** The freeze-windows parameters of a bundle, or a clear error. */
export function freezeParamsOf(bundle: CompiledBundle): FreezeWindowsParams {
  const params = freezeParamsIn(bundle);
  if (!params)
    throw new TollgateError(
      'TOLLGATE_FREEZE_NOT_CONFIGURED',
      `bundle ${bundle.identity.name} ${bundle.identity.version} does not configure freeze-windows`,
    );
  return params;
}

/** One line describing which changes a scope freezes. */
export function describeScope(scope: Scope): string {
  const parts: string[] = [];
  const ns: string[] = [];
  if (scope.namespaceNames) ns.push(scope.namespaceNames.join(', '));
  if (scope.namespaceSelector) {
    const terms = [
      ...Object.entries(scope.namespaceSelector.matchLabels).map(([k, v]) => `${k}=${v}`),
      ...scope.namespaceSelector.matchExpressions.map(
        (e) => `${e.key} ${e.operator}${e.values.length ? ` (${e.values.join(', ')})` : ''}`,
      ),
    ];
    ns.push(`labels ${terms.join(', ') || '(any)'}`);
  }
  parts.push(ns.length ? `namespaces ${ns.join(' or ')}` : 'all namespaces');
  parts.push(scope.kinds ? `kinds ${scope.kinds.join(', ')}` : 'all kinds');
  if (scope.excludeKinds.length) parts.push(`except ${scope.excludeKinds.join(', ')}`);
  parts.push(scope.operations.join('/'));
  return parts.join('; ');
}

function rulesOf(params: FreezeWindowsParams) {
  return params.rules.map((r) => r.rule);
}

function describeEntity(entity: EntityCalendar): string {
  const days = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const working = entity.workingDays.map((d) => days[d - 1]).join(' ');
  const source = entity.holidays
    ? `holidays ${[entity.holidays.country, entity.holidays.state, entity.holidays.region].filter(Boolean).join('-')} (${entity.holidays.types.join(', ')})`
    : 'no holiday calendar';
  const extra = entity.extraHolidays.length ? ` + ${entity.extraHolidays.length} extra` : '';
  const removed = entity.removedHolidays.length ? ` - ${entity.removedHolidays.length} removed` : '';
  return `${entity.id} (${entity.zone}; working days ${working}; ${source}${extra}${removed})`;
}

function windowJson(w: FreezeWindow) {
  return {
    window: w.window,
    rule: w.rule,
    entity: w.entity,
    zone: w.zone,
    ...(w.closes ? { closes: w.closes } : {}),
    startLocal: w.startLocal,
    endLocal: w.endLocal,
    start: w.start.toISOString(),
    end: w.end.toISOString(),
  };
}

function statusText(params: FreezeWindowsParams, now: Date, bundle: CompiledBundle): string {
  const out = [
    `freeze status at ${now.toISOString()} (bundle ${bundle.identity.name} ${bundle.identity.version})`,
  ];
  for (const { entity, active, next } of freezeStatusAt(params, now)) {
    out.push('');
    out.push(`${describeEntity(entity)}`);
    out.push(`  local time: ${describeLocal(formatWall(toWallTime(now, entity.zone)))}`);
    if (active.length === 0) out.push('  OPEN: no freeze window in force');
    for (const w of active) {
      const scope = params.rules.find((r) => r.rule.name === w.rule)?.scope;
      out.push(
        `  FROZEN by ${w.window}${w.closes ? ` (close of ${w.closes})` : ''}: ${describeLocal(w.startLocal)} until ${describeLocal(w.endLocal)} ${w.zone}`,
      );
      out.push(
        `    merge after ${w.endLocal} ${w.zone} (${formatInZone(w.end, w.zone)}, ${w.end.toISOString()})`,
      );
      if (scope) out.push(`    freezes ${describeScope(scope)}`);
    }
    if (next)
      out.push(
        `  next: ${next.window}${next.closes ? ` (close of ${next.closes})` : ''} from ${describeLocal(next.startLocal)} until ${describeLocal(next.endLocal)} ${next.zone}`,
      );
    else out.push('  next: none within 400 days');
  }
  if (params.exempt.usernames.length || params.exempt.groups.length)
    out.push(
      '',
      `exempt identities: ${[...params.exempt.usernames, ...params.exempt.groups.map((g) => `group ${g}`)].join(', ')}`,
    );
  const glass = params.breakGlass;
  if (!(params.exempt.usernames.length || params.exempt.groups.length)) out.push('');
  const lifetime = (seconds: number) => (seconds % 3600 === 0 ? `${seconds / 3600}h` : `${seconds / 60}m`);
  out.push(
    glass
      ? `break-glass: ${glass.minApprovals} of ${glass.approvers.length} approvers (${glass.approvers.map((a) => a.kid).join(', ')}), tokens valid at most ${lifetime(glass.maxLifetimeSeconds)}`
      : `break-glass: not configured in bundle ${bundle.identity.name} (no token unfreezes a change)`,
  );
  return `${out.join('\n')}\n`;
}

function parseMonth(value: string | undefined, flag: string): { year: number; month: number } {
  const match = value ? /^(\d{4})-(\d{2})$/.exec(value) : null;
  const year = Number(match?.[1]);
  const month = Number(match?.[2]);
  if (!match || month < 1 || month > 12)
    throw new UsageError(`${flag} must be a month YYYY-MM, not "${value ?? ''}"`);
  return { year, month };
}

/** Windows of every entity that start within the months [from, to] (entity wall clock). */
export function calendarWindows(
  params: FreezeWindowsParams,
  from: { year: number; month: number },
  to: { year: number; month: number },
  entityIds?: readonly string[],
): FreezeWindow[] {
  const rules = rulesOf(params);
  const first = `${String(from.year).padStart(4, '0')}-${String(from.month).padStart(2, '0')}-01T00:00`;
  const last = `${String(to.year).padStart(4, '0')}-${String(to.month).padStart(2, '0')}-${String(daysInMonth(to.year, to.month)).padStart(2, '0')}T23:59`;
  const rangeStart = new Date(Date.UTC(from.year, from.month - 1, 1) - 2 * 86400000);
  const rangeEnd = new Date(Date.UTC(to.year, to.month, 1) + 2 * 86400000);
  return params.entities
    .filter((entity) => !entityIds || entityIds.includes(entity.id))
    .flatMap((entity) =>
      entityWindows(rules, entity, rangeStart, rangeEnd).filter(
        (w) => w.startLocal >= first && w.startLocal.slice(0, 16) <= last,
      ),
    );
}

function calendarText(
  params: FreezeWindowsParams,
  windows: readonly FreezeWindow[],
  range: string,
  bundle: CompiledBundle,
): string {
  const out = [`freeze calendar ${range} (bundle ${bundle.identity.name} ${bundle.identity.version})`];
  for (const entity of params.entities) {
    const mine = windows.filter((w) => w.entity === entity.id);
    if (mine.length === 0) continue;
    out.push('', describeEntity(entity));
    const width = Math.max(6, ...mine.map((w) => w.window.length));
    out.push(
      `  ${'closes'.padEnd(7)} ${'window'.padEnd(width)}  ${'from (inclusive)'.padEnd(20)}  until (exclusive)`,
    );
    for (const w of mine)
      out.push(
        `  ${(w.closes ?? '-').padEnd(7)} ${w.window.padEnd(width)}  ${describeLocal(w.startLocal).padEnd(20)}  ${describeLocal(w.endLocal)}`,
      );
  }
  if (windows.length === 0) out.push('', 'no freeze windows start in this range');
  return `${out.join('\n')}\n`;
}

function icsEscape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

/** Folds a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 sequence. */
export function foldIcsLine(line: string): string {
  const encoder = new TextEncoder();
  const parts: string[] = [];
  let current = '';
  let size = 0;
  for (const char of line) {
    const bytes = encoder.encode(char).length;
    const limit = parts.length === 0 ? 75 : 74;
    if (size + bytes > limit) {
      parts.push(current);
      current = '';
      size = 0;
    }
    current += char;
    size += bytes;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

function icsTime(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** Renders windows as an iCalendar (RFC 5545) with UTC times; `stamp` is the DTSTAMP. */
export function toIcs(windows: readonly FreezeWindow[], bundle: CompiledBundle, stamp: Date): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//tollgate//freeze calendar//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    `X-WR-CALNAME:${icsEscape(`Change freezes (${bundle.identity.name})`)}`,
  ];
  for (const w of windows) {
    lines.push(
      'BEGIN:VEVENT',
      `UID:${w.rule}-${w.entity}-${icsTime(w.start)}@tollgate.dev`,
      `DTSTAMP:${icsTime(stamp)}`,
      `DTSTART:${icsTime(w.start)}`,
      `DTEND:${icsTime(w.end)}`,
      `SUMMARY:${icsEscape(`Change freeze: ${w.window} (${w.entity})`)}`,
      `DESCRIPTION:${icsEscape(
        `${w.window}${w.closes ? `, close of ${w.closes}` : ''} for ${w.entity}: ${w.startLocal} until ${w.endLocal} ${w.zone} (end exclusive). Bundle ${bundle.identity.name} ${bundle.identity.version}.`,
      )}`,
      'CATEGORIES:CHANGE FREEZE',
      'TRANSP:OPAQUE',
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return `${lines.map(foldIcsLine).join('\r\n')}\r\n`;
}

/** Runs `tollgate freeze`. */
export async function run(args: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(help);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'status' && sub !== 'calendar') throw new UsageError(`unknown subcommand "${sub}"\n\n${help}`);
  let values;
  try {
    values = parseArgs({
      args: rest,
      options: {
        bundle: { type: 'string', short: 'b' },
        now: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        entity: { type: 'string', multiple: true },
        format: { type: 'string', short: 'f', default: 'text' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const now = parseNow(values.now);
  const format = values.format ?? 'text';
  if (sub === 'status') {
    if (format !== 'text' && format !== 'json')
      throw new UsageError(`--format must be text or json, not "${format}"`);
    const bundle = await loadBundleFile(values.bundle, io.cwd);
    const params = freezeParamsOf(bundle);
    await loadHolidayCalendars(params);
    if (format === 'json') {
      const status = freezeStatusAt(params, now).map(({ entity, frozen, active, next }) => ({
        entity: entity.id,
        zone: entity.zone,
        frozen,
        windows: active.map(windowJson),
        ...(next ? { next: windowJson(next) } : {}),
      }));
      const glass = params.breakGlass;
      const breakGlass = glass
        ? {
            configured: true,
            minApprovals: glass.minApprovals,
            approvers: glass.approvers.map((a) => a.kid),
            maxLifetimeSeconds: glass.maxLifetimeSeconds,
          }
        : { configured: false };
      io.stdout(`${JSON.stringify({ now: now.toISOString(), entities: status, breakGlass }, null, 2)}\n`);
    } else io.stdout(statusText(params, now, bundle));
    return 0;
  }
  if (format !== 'text' && format !== 'ics' && format !== 'json')
    throw new UsageError(`--format must be text, ics or json, not "${format}"`);
  const from = parseMonth(values.from, '--from');
  const to = parseMonth(values.to, '--to');
  if (to.year * 12 + to.month < from.year * 12 + from.month) throw new UsageError('--to is before --from');
  if (to.year * 12 + to.month - (from.year * 12 + from.month) > 120)
    throw new UsageError('the range spans more than 10 years');
  const bundle = await loadBundleFile(values.bundle, io.cwd);
  const params = freezeParamsOf(bundle);
  await loadHolidayCalendars(params);
  const unknown = (values.entity ?? []).filter((id) => !params.entities.some((e) => e.id === id));
  if (unknown.length) throw new UsageError(`unknown entity ${unknown.join(', ')}`);
  const windows = calendarWindows(params, from, to, values.entity);
  if (format === 'ics') io.stdout(toIcs(windows, bundle, now));
  else if (format === 'json') io.stdout(`${JSON.stringify(windows.map(windowJson), null, 2)}\n`);
  else io.stdout(calendarText(params, windows, `${values.from ?? ''} .. ${values.to ?? ''}`, bundle));
  return 0;
}
