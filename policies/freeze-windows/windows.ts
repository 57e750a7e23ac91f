/**
 * Freeze window rules and their concrete occurrences. Three kinds of rule:
 * - `close`: business-day offsets around each month end with wall-clock times, with per-month
 *   overrides (quarter end, year end, one specific month);
 * - `absolute`: a one-off window (wall clock in each entity's zone, or exact instants);
 * - `cron` + `duration`: routine freezes, evaluated on the entity's wall clock.
 * All times are wall-clock times in the entity's zone (see zone.ts for the DST rules); a window
 * includes its start and excludes its end.
 */
import type * as CronParser from 'cron-parser';
import { ConfigError } from '../engine/errors/index.ts';
import { parseDuration } from '../engine/duration.ts';
import type { CivilDate, EntityCalendar } from './calendar.ts';
import { onDemand } from '../engine/on-demand.ts';
import { businessDayFromMonthEnd, weekdayName } from './calendar.ts';
import type { WallTime } from './zone.ts';
import { formatWall, fromWallTime, toWallTime, wallAsUtc } from './zone.ts';

/** cron-parser (and luxon under it) loads on first use: only bundles with cron windows need it. */
const cronParser = onDemand<typeof CronParser>('cron-parser', () => require('cron-parser'));

/** A business day and a wall-clock time: `{ businessDay: -3, at: '18:00' }`. */
export interface BusinessDayTime {
  /** Negative: counted back from the month end (-1 = last business day); positive: forward into the next month (+1 = first). */
  readonly businessDay: number;
  /** Minutes after midnight (24:00 = 1440 means the end of that day). */
  readonly minutes: number;
}

/** A per-month variant of a close window. */
export interface CloseOverride {
  /** Display name (e.g. `year-end-close`); defaults to the rule's name. */
  readonly name?: string;
  /** Months (1-12) or specific months (`YYYY-MM`) whose close it replaces. */
  readonly months: readonly (number | string)[];
  readonly start: BusinessDayTime;
  readonly end: BusinessDayTime;
}

/** A one-off instant: an exact instant, or a wall-clock time read in each entity's zone. */
export type AbsoluteTime = { readonly instant: Date } | { readonly wall: WallTime };

interface RuleBase {
  readonly name: string;
  /** Entities the rule applies to (undefined = all). */
  readonly entities?: readonly string[];
}

/** A month-end close rule. */
export interface CloseRule extends RuleBase {
  readonly type: 'close';
  readonly start: BusinessDayTime;
  readonly end: BusinessDayTime;
  /** First matching override wins. */
  readonly overrides: readonly CloseOverride[];
}

/** A one-off window. */
export interface AbsoluteRule extends RuleBase {
  readonly type: 'absolute';
  readonly start: AbsoluteTime;
  readonly end: AbsoluteTime;
}

/** A cron-started window of fixed wall-clock length. */
export interface CronRule extends RuleBase {
  readonly type: 'cron';
  readonly cron: string;
  /** Wall-clock length in minutes. */
  readonly durationMinutes: number;
}

/** A compiled window rule. */
export type WindowRule = CloseRule | AbsoluteRule | CronRule;

/** One concrete freeze window of one entity. */
export interface FreezeWindow {
  /** Display name (the override's name for quarter/year end). */
  readonly window: string;
  /** The rule it came from. */
  readonly rule: string;
  readonly entity: string;
  readonly zone: string;
  /** First frozen instant (inclusive). */
  readonly start: Date;
  /** First instant after the freeze (exclusive). */
  readonly end: Date;
  /** Wall-clock start and end in the zone, `YYYY-MM-DDTHH:MM`. */
  readonly startLocal: string;
  readonly endLocal: string;
  /** For close windows: the month being closed, `YYYY-MM`. */
  readonly closes?: string;
}

const businessDayTimeSchema = {
  type: 'object',
  required: ['businessDay', 'at'],
  additionalProperties: false,
  properties: {
    businessDay: {
      type: 'integer',
      minimum: -40,
      maximum: 40,
      not: { const: 0 },
      description: '-1 = last business day of the month, +1 = first business day of the next month',
    },
    at: {
      type: 'string',
      pattern: '^\\d{2}:\\d{2}$',
      description: 'wall-clock time HH:MM (24:00 = end of day)',
    },
  },
};

/** JSON Schema of one window rule. */
export const windowSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][-A-Za-z0-9_.]*$' },
    entities: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    close: {
      type: 'object',
      required: ['start', 'end'],
      additionalProperties: false,
      properties: {
        start: businessDayTimeSchema,
        end: businessDayTimeSchema,
        overrides: {
          type: 'array',
          items: {
            type: 'object',
            required: ['months', 'start', 'end'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9][-A-Za-z0-9_.]*$' },
              months: {
                type: 'array',
                minItems: 1,
                items: {
                  anyOf: [
                    { type: 'integer', minimum: 1, maximum: 12 },
                    { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' },
                  ],
                },
              },
              start: businessDayTimeSchema,
              end: businessDayTimeSchema,
            },
          },
        },
      },
    },
    absolute: {
      type: 'object',
      required: ['start', 'end'],
      additionalProperties: false,
      properties: {
        start: {
          type: 'string',
          description: 'YYYY-MM-DDTHH:MM (entity wall clock) or an ISO instant with offset',
        },
        end: { type: 'string' },
      },
    },
    cron: { type: 'string', minLength: 1, description: 'five-field cron on the entity wall clock' },
    duration: { type: 'string', pattern: '^(\\d+d)?(\\d+h)?(\\d+m)?$', minLength: 2 },
    cronDayOr: {
      type: 'boolean',
      description: 'accept a cron restricting both day-of-month and day-of-week (cron ORs them)',
    },
  },
};

function parseAt(text: string, path: string): number {
  const [h, m] = text.split(':').map(Number);
  if (h === undefined || m === undefined || m > 59 || h > 24 || (h === 24 && m !== 0))
    throw new ConfigError(path, `"${text}" is not a wall-clock time HH:MM (00:00-24:00)`);
  return h * 60 + m;
}

function compileBusinessDayTime(raw: Record<string, unknown>, path: string): BusinessDayTime {
  return { businessDay: Number(raw.businessDay), minutes: parseAt(String(raw.at), `${path}/at`) };
}

function checkOrder(start: BusinessDayTime, end: BusinessDayTime, path: string): void {
  if (
    start.businessDay > end.businessDay ||
    (start.businessDay === end.businessDay && start.minutes >= end.minutes)
  )
    throw new ConfigError(path, 'the window ends before it starts');
}

const wallPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

function compileAbsolute(text: string, path: string): AbsoluteTime {
  const wall = wallPattern.exec(text);
  if (wall) {
    const [y, mo, d, h, mi, s] = wall.slice(1).map((part) => Number(part ?? 0));
    const time = { year: y ?? 0, month: mo ?? 0, day: d ?? 0, hour: h ?? 0, minute: mi ?? 0, second: s ?? 0 };
    const back = new Date(wallAsUtc(time));
    if (back.getUTCMonth() + 1 !== time.month || back.getUTCDate() !== time.day || time.hour > 23)
      throw new ConfigError(path, `"${text}" is not a valid date and time`);
    return { wall: time };
  }
  const instant = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:\d{2})$/.test(text) || Number.isNaN(instant.getTime()))
    throw new ConfigError(path, `"${text}" is neither YYYY-MM-DDTHH:MM nor an ISO-8601 instant with offset`);
  return { instant };
}

/** Compiles one window rule; `path` is its parameter path for ConfigError. */
export function compileWindow(raw: Record<string, unknown>, path: string): WindowRule {
  const name = String(raw.name);
  const base: { name: string; entities?: readonly string[] } = { name };
  if (Array.isArray(raw.entities)) base.entities = raw.entities.map(String);
  const kinds = ['close', 'absolute', 'cron'].filter((key) => raw[key] !== undefined);
  if (kinds.length !== 1)
    throw new ConfigError(path, `window "${name}" needs exactly one of close, absolute or cron`);
  if (raw.close) {
    const close = raw.close as Record<string, unknown>;
    const start = compileBusinessDayTime(close.start as Record<string, unknown>, `${path}/close/start`);
    const end = compileBusinessDayTime(close.end as Record<string, unknown>, `${path}/close/end`);
    checkOrder(start, end, `${path}/close`);
    const overrides = ((close.overrides as Record<string, unknown>[] | undefined) ?? []).map(
      (override, index): CloseOverride => {
        const at = `${path}/close/overrides/${index}`;
        const oStart = compileBusinessDayTime(override.start as Record<string, unknown>, `${at}/start`);
        const oEnd = compileBusinessDayTime(override.end as Record<string, unknown>, `${at}/end`);
        checkOrder(oStart, oEnd, at);
        return {
          ...(typeof override.name === 'string' ? { name: override.name } : {}),
          months: (override.months as (number | string)[]).map((m) => m),
          start: oStart,
          end: oEnd,
        };
      },
    );
    return { ...base, type: 'close', start, end, overrides };
  }
  if (raw.absolute) {
    const absolute = raw.absolute as Record<string, unknown>;
    const start = compileAbsolute(String(absolute.start), `${path}/absolute/start`);
    const end = compileAbsolute(String(absolute.end), `${path}/absolute/end`);
    if ('instant' in start && 'instant' in end && start.instant >= end.instant)
      throw new ConfigError(`${path}/absolute`, 'the window ends before it starts');
    if ('wall' in start && 'wall' in end && wallAsUtc(start.wall) >= wallAsUtc(end.wall))
      throw new ConfigError(`${path}/absolute`, 'the window ends before it starts');
    return { ...base, type: 'absolute', start, end };
  }
  const cron = String(raw.cron);
  if (raw.duration === undefined) throw new ConfigError(`${path}/duration`, 'a cron window needs a duration');
  const durationMinutes = parseDuration(String(raw.duration));
  if (!durationMinutes)
    throw new ConfigError(`${path}/duration`, `"${String(raw.duration)}" is not a duration like 8h or 1d12h`);
  if (durationMinutes > 31 * 1440)
    throw new ConfigError(`${path}/duration`, 'a cron window lasts at most 31d');
  if (cron.trim().split(/\s+/).length !== 5)
    throw new ConfigError(
      `${path}/cron`,
      `"${cron}" must have five fields: minute hour day-of-month month day-of-week`,
    );
  let fields;
  try {
    fields = cronParser().CronExpressionParser.parse(cron, { currentDate: new Date(0), tz: 'UTC' }).fields;
  } catch (error) {
    throw new ConfigError(
      `${path}/cron`,
      `"${cron}" is not a valid cron expression: ${(error as Error).message}`,
    );
  }
  if (!fields.dayOfMonth.isWildcard && !fields.dayOfWeek.isWildcard && raw.cronDayOr !== true)
    throw new ConfigError(
      `${path}/cron`,
      `"${cron}" restricts both day-of-month and day-of-week; cron ORs them (e.g. "0 0 25-31 * 5" is the 25th-31st OR any Friday, not the last Friday). Set cronDayOr: true if OR is what you mean, or use a close window`,
    );
  return { ...base, type: 'cron', cron, durationMinutes };
}

function wallOf(date: CivilDate, minutes: number): WallTime {
  const ms = wallAsUtc({ ...date, hour: 0, minute: 0 }) + minutes * 60000;
  const t = new Date(ms);
  return {
    year: t.getUTCFullYear(),
    month: t.getUTCMonth() + 1,
    day: t.getUTCDate(),
    hour: t.getUTCHours(),
    minute: t.getUTCMinutes(),
  };
}

function monthKey(year: number, month: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
}

function occurrence(
  rule: WindowRule,
  name: string,
  entity: EntityCalendar,
  startWall: WallTime,
  endWall: WallTime,
  closes?: string,
): FreezeWindow {
  return {
    window: name,
    rule: rule.name,
    entity: entity.id,
    zone: entity.zone,
    start: fromWallTime(startWall, entity.zone),
    end: fromWallTime(endWall, entity.zone),
    startLocal: formatWall(startWall),
    endLocal: formatWall(endWall),
    ...(closes ? { closes } : {}),
  };
}

const memo = new WeakMap<WindowRule, WeakMap<EntityCalendar, Map<string, FreezeWindow | null>>>();

/** Memoizes a computed window per rule, entity and key: calendars are frozen, so windows never change. */
function memoized(
  rule: WindowRule,
  entity: EntityCalendar,
  key: string,
  compute: () => FreezeWindow | null,
): FreezeWindow | null {
  let byEntity = memo.get(rule);
  if (!byEntity) {
    byEntity = new WeakMap();
    memo.set(rule, byEntity);
  }
  let byKey = byEntity.get(entity);
  if (!byKey) {
    byKey = new Map();
    byEntity.set(entity, byKey);
  }
  let window = byKey.get(key);
  if (window === undefined) {
    window = compute();
    if (window) Object.freeze(window);
    byKey.set(key, window);
  }
  return window;
}

/** The close window of one month for one entity (computed once per rule, entity and month). */
export function closeWindowFor(
  rule: CloseRule,
  entity: EntityCalendar,
  year: number,
  month: number,
): FreezeWindow {
  return memoized(rule, entity, monthKey(year, month), () =>
    computeCloseWindow(rule, entity, year, month),
  ) as FreezeWindow;
}

function computeCloseWindow(
  rule: CloseRule,
  entity: EntityCalendar,
  year: number,
  month: number,
): FreezeWindow {
  const key = monthKey(year, month);
  const override = rule.overrides.find((o) => o.months.some((m) => m === month || m === key));
  const spec = override ?? rule;
  const startDay = businessDayFromMonthEnd(entity, year, month, spec.start.businessDay);
  const endDay = businessDayFromMonthEnd(entity, year, month, spec.end.businessDay);
  return occurrence(
    rule,
    override?.name ?? rule.name,
    entity,
    wallOf(startDay, spec.start.minutes),
    wallOf(endDay, spec.end.minutes),
    key,
  );
}

/** Most cron occurrences computed per rule, entity and query; more is an error, never a partial answer. */
export const maxCronOccurrences = 5000;

function utcWall(ms: number): WallTime {
  const t = new Date(ms);
  return {
    year: t.getUTCFullYear(),
    month: t.getUTCMonth() + 1,
    day: t.getUTCDate(),
    hour: t.getUTCHours(),
    minute: t.getUTCMinutes(),
  };
}

function cronWindows(rule: CronRule, entity: EntityCalendar, from: Date, to: Date): FreezeWindow[] {
  // Iterate cron on the wall clock (wall times read as UTC), then map each wall time to an instant.
  // Three hours of margin cover any DST shift between wall clock and instant.
  const margin = 3 * 3600000;
  const fromWall = wallAsUtc(toWallTime(from, entity.zone)) - rule.durationMinutes * 60000 - margin;
  const toWall = wallAsUtc(toWallTime(to, entity.zone)) + margin;
  const iterator = cronParser().CronExpressionParser.parse(rule.cron, {
    currentDate: new Date(fromWall - 1000),
    tz: 'UTC',
  });
  const out: FreezeWindow[] = [];
  for (;;) {
    const fire = iterator.next().getTime();
    if (fire > toWall) break;
    // Never return a partial list: a missing occurrence would silently unfreeze its changes.
    if (out.length >= maxCronOccurrences)
      throw new RangeError(
        `cron window "${rule.name}" starts more than ${maxCronOccurrences} times in the range asked; use a longer interval or a close window`,
      );
    out.push(
      occurrence(rule, rule.name, entity, utcWall(fire), utcWall(fire + rule.durationMinutes * 60000)),
    );
  }
  return out;
}

function absoluteInstant(time: AbsoluteTime, zone: string): { instant: Date; wall: WallTime } {
  if ('instant' in time) return { instant: time.instant, wall: toWallTime(time.instant, zone) };
  return { instant: fromWallTime(time.wall, zone), wall: time.wall };
}

/** Every window of `rule` for `entity` that overlaps [from, to), ordered by start. */
export function windowsOf(rule: WindowRule, entity: EntityCalendar, from: Date, to: Date): FreezeWindow[] {
  if (rule.entities && !rule.entities.includes(entity.id)) return [];
  let candidates: FreezeWindow[];
  if (rule.type === 'close') {
    candidates = [];
    // Offsets are at most 40 business days, so windows anchored up to 3 months away (in any zone)
    // can overlap; UTC months are close enough for that margin and need no zone conversion.
    let year = from.getUTCFullYear();
    let month = from.getUTCMonth() + 1 - 3;
    while (month < 1) {
      month += 12;
      year--;
    }
    const endIndex = to.getUTCFullYear() * 12 + to.getUTCMonth() + 1 + 3;
    while (year * 12 + month <= endIndex) {
      candidates.push(closeWindowFor(rule, entity, year, month));
      month++;
      if (month > 12) {
        month = 1;
        year++;
      }
    }
  } else if (rule.type === 'absolute') {
    const window = memoized(rule, entity, 'absolute', () => {
      const start = absoluteInstant(rule.start, entity.zone);
      const end = absoluteInstant(rule.end, entity.zone);
      return start.instant < end.instant
        ? {
            window: rule.name,
            rule: rule.name,
            entity: entity.id,
            zone: entity.zone,
            start: start.instant,
            end: end.instant,
            startLocal: formatWall(start.wall),
            endLocal: formatWall(end.wall),
          }
        : null;
    });
    candidates = window ? [window] : [];
  } else {
    candidates = cronWindows(rule, entity, from, to);
  }
  return candidates
    .filter((w) => w.start < w.end && w.start < to && w.end > from)
    .sort((a, b) => a.start.getTime() - b.start.getTime());
}

/** Windows of every rule for one entity overlapping [from, to), ordered by start. */
export function entityWindows(
  rules: readonly WindowRule[],
  entity: EntityCalendar,
  from: Date,
  to: Date,
): FreezeWindow[] {
  return rules
    .flatMap((rule) => windowsOf(rule, entity, from, to))
    .sort((a, b) => a.start.getTime() - b.start.getTime() || a.window.localeCompare(b.window));
}

/** Windows of an entity in force at `now` (start <= now < end). */
export function activeWindows(
  rules: readonly WindowRule[],
  entity: EntityCalendar,
  now: Date,
): FreezeWindow[] {
  return entityWindows(rules, entity, now, new Date(now.getTime() + 1)).filter(
    (w) => w.start <= now && now < w.end,
  );
}

/** The next window of an entity starting after `now` (within `horizonDays`), if any. */
export function nextWindow(
  rules: readonly WindowRule[],
  entity: EntityCalendar,
  now: Date,
  horizonDays = 400,
): FreezeWindow | undefined {
  const to = new Date(now.getTime() + horizonDays * 86400000);
  return entityWindows(rules, entity, now, to).find((w) => w.start > now);
}

/** A short human description of a window's days, e.g. `Mon 2027-01-04 18:00`. */
export function describeLocal(local: string): string {
  const [date = '', time = ''] = local.split('T');
  const [y, m, d] = date.split('-').map(Number);
  return `${weekdayName({ year: y ?? 0, month: m ?? 1, day: d ?? 1 })} ${date} ${time}`;
}
