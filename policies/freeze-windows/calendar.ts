/**
 * Business-day calendars of legal entities: an IANA zone, a working-week mask, public holidays
 * from date-holidays by country/state/region, plus explicit extra and removed dates. Pure: the
 * holiday tables are computed per year on demand and cached by the frozen entity object.
 *
 * date-holidays (its tables for every country and moment-timezone) costs ~100 ms to load, so it
 * loads only when a calendar with holidays is computed: {@link loadHolidayTables} before, which the
 * policy's evaluate and the freeze commands await. Compiling a bundle checks the country, state and
 * region codes against a list generated from the library (holiday-regions.generated.ts).
 */
import type Holidays from 'date-holidays';
import { ConfigError } from '../engine/errors/index.ts';
import { holidayRegions } from './holiday-regions.generated.ts';
import { addDays, canonicalZone, daysInMonth, formatDate, isoWeekday } from './zone.ts';

/** Holiday types as date-holidays names them. */
export type HolidayType = 'public' | 'bank' | 'optional' | 'school' | 'observance';

/** Where an entity's public holidays come from. */
export interface HolidaySource {
  /** ISO 3166-1 country code, e.g. `DE`. */
  readonly country: string;
  /** State / province code (ISO 3166-2 suffix), e.g. `BE` for Berlin. */
  readonly state?: string;
  /** Region code below the state, as date-holidays defines it. */
  readonly region?: string;
  /** Which holiday types are non-business days (default: public). */
  readonly types: readonly HolidayType[];
}

/** A legal entity's calendar, compiled. */
export interface EntityCalendar {
  readonly id: string;
  /** Canonical IANA zone; windows are wall-clock times in this zone. */
  readonly zone: string;
  /** ISO weekdays that are working days (1 Monday ... 7 Sunday). */
  readonly workingDays: readonly number[];
  readonly holidays?: HolidaySource;
  /** Additional non-business dates, `YYYY-MM-DD`. */
  readonly extraHolidays: readonly string[];
  /** Dates the holiday library lists that are business days for this entity, `YYYY-MM-DD`. */
  readonly removedHolidays: readonly string[];
}

/** A civil date (month 1-12). */
export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const weekdayNames = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** JSON Schema of one entity in the bundle. */
export const entitySchema = {
  type: 'object',
  required: ['zone'],
  additionalProperties: false,
  properties: {
    zone: { type: 'string', minLength: 1, description: 'IANA time zone, e.g. Europe/Berlin' },
    workingDays: {
      type: 'array',
      items: { enum: weekdayNames },
      uniqueItems: true,
      minItems: 1,
      description: 'working-week mask (default Mon-Fri)',
    },
    holidays: {
      type: 'object',
      required: ['country'],
      additionalProperties: false,
      properties: {
        country: { type: 'string', pattern: '^[A-Za-z]{2}$' },
        state: { type: 'string', minLength: 1 },
        region: { type: 'string', minLength: 1 },
        types: {
          type: 'array',
          items: { enum: ['public', 'bank', 'optional', 'school', 'observance'] },
          minItems: 1,
          uniqueItems: true,
        },
      },
      description: 'public holidays from date-holidays (country, state, region)',
    },
    extraHolidays: {
      type: 'array',
      items: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
      description: 'additional non-business dates (YYYY-MM-DD)',
    },
    removedHolidays: {
      type: 'array',
      items: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
      description: 'library holidays that are business days for this entity (YYYY-MM-DD)',
    },
  },
};

let library: typeof Holidays | undefined;

/** Whether any of these calendars takes its holidays from date-holidays. */
export function needsHolidayTables(entities: Iterable<EntityCalendar>): boolean {
  for (const entity of entities) if (entity.holidays) return true;
  return false;
}

/**
 * Loads date-holidays once; the calendars' holiday look-ups need it. Cheap once loaded. Call it
 * (through the policy's evaluate or `loadHolidayCalendars`) before computing windows of
 * calendars with holidays.
 */
export async function loadHolidayTables(): Promise<void> {
  library ??= (await import('date-holidays')).default;
}

function holidayLibrary(): typeof Holidays {
  if (!library)
    throw new Error(
      'date-holidays is not loaded: await loadHolidayTables() before computing holiday calendars',
    );
  return library;
}

function validDate(text: string): boolean {
  const [y, m, d] = text.split('-').map(Number);
  return (
    y !== undefined &&
    m !== undefined &&
    d !== undefined &&
    m >= 1 &&
    m <= 12 &&
    d >= 1 &&
    d <= daysInMonth(y, m)
  );
}

/** Compiles one entity; `path` is its parameter path for ConfigError. */
export function compileEntity(id: string, raw: Record<string, unknown>, path: string): EntityCalendar {
  const zoneText = String(raw.zone);
  const zone = canonicalZone(zoneText);
  if (!zone)
    throw new ConfigError(
      `${path}/zone`,
      `"${zoneText}" is not an IANA time zone known to this runtime (e.g. Europe/Berlin); tollgate never falls back to UTC`,
    );
  const workingDays = Array.isArray(raw.workingDays)
    ? raw.workingDays.map((name) => weekdayNames.indexOf(String(name)) + 1).sort()
    : [1, 2, 3, 4, 5];
  const dates = (key: 'extraHolidays' | 'removedHolidays'): string[] => {
    const list = Array.isArray(raw[key]) ? (raw[key] as unknown[]).map(String) : [];
    list.forEach((date, index) => {
      if (!validDate(date))
        throw new ConfigError(`${path}/${key}/${index}`, `"${date}" is not a calendar date`);
    });
    return list;
  };
  const entity: { -readonly [K in keyof EntityCalendar]: EntityCalendar[K] } = {
    id,
    zone,
    workingDays,
    extraHolidays: dates('extraHolidays'),
    removedHolidays: dates('removedHolidays'),
  };
  const holidays = raw.holidays as Record<string, unknown> | undefined;
  if (holidays) {
    const country = String(holidays.country).toUpperCase();
    const states = Object.hasOwn(holidayRegions, country) ? holidayRegions[country] : undefined;
    if (!states)
      throw new ConfigError(`${path}/holidays/country`, `no holiday calendar for country "${country}"`);
    const source: { -readonly [K in keyof HolidaySource]: HolidaySource[K] } = {
      country,
      types: Array.isArray(holidays.types) ? (holidays.types as HolidayType[]) : ['public'],
    };
    if (typeof holidays.state === 'string') {
      const state = holidays.state.toUpperCase();
      const regions = Object.hasOwn(states, state) ? states[state] : undefined;
      if (!regions)
        throw new ConfigError(
          `${path}/holidays/state`,
          `no holiday calendar for state "${state}" of ${country} (known: ${Object.keys(states).join(', ') || 'none'})`,
        );
      source.state = state;
      if (typeof holidays.region === 'string') {
        const region = holidays.region.toUpperCase();
        if (!regions.includes(region))
          throw new ConfigError(
            `${path}/holidays/region`,
            `no holiday calendar for region "${region}" of ${country}-${state}`,
          );
        source.region = region;
      }
    } else if (typeof holidays.region === 'string') {
      throw new ConfigError(`${path}/holidays/region`, 'a region needs its state');
    }
    entity.holidays = source;
  }
  return entity;
}

const holidayCache = new WeakMap<EntityCalendar, Map<number, ReadonlyMap<string, string>>>();
const libraryCache = new Map<string, Holidays>();

/** Non-business holidays of an entity in a year: date `YYYY-MM-DD` to name. */
export function holidaysIn(entity: EntityCalendar, year: number): ReadonlyMap<string, string> {
  let byYear = holidayCache.get(entity);
  if (!byYear) {
    byYear = new Map();
    holidayCache.set(entity, byYear);
  }
  const cached = byYear.get(year);
  if (cached) return cached;
  const days = new Map<string, string>();
  const source = entity.holidays;
  if (source) {
    const key = [source.country, source.state ?? '', source.region ?? ''].join('-');
    let library = libraryCache.get(key);
    if (!library) {
      library = new (holidayLibrary())(source.country, source.state ?? '', source.region ?? '', {
        languages: ['en'],
      });
      libraryCache.set(key, library);
    }
    for (const holiday of library.getHolidays(year, 'en')) {
      if (!source.types.includes(holiday.type)) continue;
      const date = holiday.date.slice(0, 10);
      if (!days.has(date)) days.set(date, holiday.name);
    }
  }
  for (const date of entity.extraHolidays) if (date.startsWith(`${year}-`)) days.set(date, 'extra holiday');
  for (const date of entity.removedHolidays) days.delete(date);
  byYear.set(year, days);
  return days;
}

/** Whether a date is a business day of the entity (working weekday and not a holiday). */
export function isBusinessDay(entity: EntityCalendar, date: CivilDate): boolean {
  if (!entity.workingDays.includes(isoWeekday(date.year, date.month, date.day))) return false;
  return !holidaysIn(entity, date.year).has(formatDate(date));
}

/**
 * The business day at a signed offset from the end of month `month` of `year`: -1 is the last
 * business day of that month, -3 the third-to-last; +1 the first business day of the next month,
 * +2 the second. Offset 0 is invalid.
 */
export function businessDayFromMonthEnd(
  entity: EntityCalendar,
  year: number,
  month: number,
  offset: number,
): CivilDate {
  if (!Number.isInteger(offset) || offset === 0)
    throw new RangeError(`invalid business-day offset ${offset}`);
  let date: CivilDate =
    offset < 0
      ? { year, month, day: daysInMonth(year, month) }
      : month === 12
        ? { year: year + 1, month: 1, day: 1 }
        : { year, month: month + 1, day: 1 };
  const step = offset < 0 ? -1 : 1;
  let remaining = Math.abs(offset);
  // 400 days bounds the walk even for an entity whose every day is a holiday.
  for (let guard = 0; guard < 400; guard++) {
    if (isBusinessDay(entity, date)) {
      remaining--;
      if (remaining === 0) return date;
    }
    date = addDays(date, step);
  }
  throw new RangeError(`entity ${entity.id} has no business day near ${year}-${month}`);
}

/** Short weekday name of a date (Mon ... Sun). */
export function weekdayName(date: CivilDate): string {
  return weekdayNames[isoWeekday(date.year, date.month, date.day) - 1] ?? '';
}
