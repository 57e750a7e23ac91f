/**
 * Wall-clock time in an IANA zone, computed with Intl only (no clock reads, no zone database of
 * our own). A wall time inside a skipped DST hour maps to the first valid instant after the gap;
 * a wall time inside a repeated hour maps to the earliest of its two instants.
 */

/** A civil date and time as printed on a wall clock (month 1-12). */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second?: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
let supportedZones: ReadonlySet<string> | undefined;

const ianaName = /^(?:UTC|GMT|[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)+|[A-Z][A-Za-z]+)$/;

/**
 * Returns the canonical IANA name of a zone, or undefined when Intl does not know it. Offsets
 * such as `+01:00` are refused: they have no daylight saving rules and are not IANA zones.
 */
export function canonicalZone(zone: string): string | undefined {
  if (!ianaName.test(zone)) return undefined;
  // The runtime's list of canonical zones answers the common case in microseconds; building a
  // DateTimeFormat loads the locale data (the slowest step of loading a bundle). Every listed
  // zone resolves to itself (zone.test.ts), so only aliases and other spellings need one.
  supportedZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (supportedZones.has(zone)) return zone;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** The wall-clock time of an instant in a zone. */
export function toWallTime(instant: Date | number, zone: string): Required<WallTime> {
  const parts = formatterFor(zone).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((part) => part.type === type)?.value ?? NaN);
  const era = parts.find((part) => part.type === 'era')?.value;
  const year = get('year');
  return {
    year: era === 'BC' || era === 'B' ? 1 - year : year,
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** Milliseconds of a wall time read as if it were UTC. */
export function wallAsUtc(wall: WallTime): number {
  const ms = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second ?? 0);
  // Date.UTC maps years 0-99 to 1900-1999; correct for them.
  if (wall.year >= 0 && wall.year < 100) {
    const date = new Date(ms);
    date.setUTCFullYear(wall.year);
    return date.getTime();
  }
  return ms;
}

/** The zone's UTC offset in milliseconds at an instant (wall minus UTC). */
export function offsetAt(instant: number, zone: string): number {
  const truncated = Math.floor(instant / 1000) * 1000;
  return wallAsUtc(toWallTime(truncated, zone)) - truncated;
}

/**
 * The instant at which a zone's wall clock shows `wall`. In a gap (spring forward) the result is
 * the first valid instant after the gap (the transition itself); in an overlap (fall back) the
 * earliest of the two instants.
 */
export function fromWallTime(wall: WallTime, zone: string): Date {
  const local = wallAsUtc(wall);
  const day = 24 * 3600 * 1000;
  const offsets = new Set([offsetAt(local - day, zone), offsetAt(local, zone), offsetAt(local + day, zone)]);
  const valid = [...offsets].map((offset) => local - offset).filter((t) => offsetAt(t, zone) === local - t);
  if (valid.length > 0) return new Date(Math.min(...valid));
  // A gap: the wall time is skipped. Offsets before (smaller) and after (larger) the transition
  // bracket it; find the transition instant by bisection on whole seconds.
  const sorted = [...offsets].sort((a, b) => a - b);
  let lo = Math.floor((local - (sorted[sorted.length - 1] ?? 0)) / 1000);
  let hi = Math.ceil((local - (sorted[0] ?? 0)) / 1000);
  const before = offsetAt(lo * 1000, zone);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid * 1000, zone) === before) lo = mid;
    else hi = mid;
  }
  return new Date(hi * 1000);
}

/** Days in a month (month 1-12), leap years included. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** ISO weekday of a civil date: 1 Monday ... 7 Sunday. */
export function isoWeekday(year: number, month: number, day: number): number {
  const weekday = new Date(wallAsUtc({ year, month, day, hour: 12, minute: 0 })).getUTCDay();
  return weekday === 0 ? 7 : weekday;
}

/** A civil date shifted by whole days. */
export function addDays(
  date: { year: number; month: number; day: number },
  days: number,
): { year: number; month: number; day: number } {
  const shifted = new Date(wallAsUtc({ ...date, hour: 12, minute: 0 }) + days * 24 * 3600 * 1000);
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** `YYYY-MM-DD` of a civil date. */
export function formatDate(date: { year: number; month: number; day: number }): string {
  return `${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}`;
}

/** `YYYY-MM-DDTHH:MM` of a wall time (seconds shown only when not zero). */
export function formatWall(wall: WallTime): string {
  const seconds = wall.second ? `:${pad(wall.second)}` : '';
  return `${formatDate(wall)}T${pad(wall.hour)}:${pad(wall.minute)}${seconds}`;
}

/** An instant as wall time in a zone with its offset, e.g. `2027-01-05T23:59+01:00`. */
export function formatInZone(instant: Date, zone: string): string {
  const offset = offsetAt(instant.getTime(), zone) / 60000;
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${formatWall(toWallTime(instant, zone))}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
