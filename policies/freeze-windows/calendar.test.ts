import { beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../engine/bundle.ts';
import type { Policy } from '../engine/types.ts';
import { businessDayFromMonthEnd, holidaysIn, isBusinessDay, loadHolidayTables } from './calendar.ts';
import type { FreezeWindowsParams } from './index.ts';
import { freezeWindowsPolicy, windowsInForce } from './index.ts';
import { activeWindows, entityWindows, nextWindow } from './windows.ts';
import { canonicalZone, daysInMonth, formatDate, fromWallTime, toWallTime } from './zone.ts';

// The window functions read the holiday tables, which load on demand (the policy's evaluate awaits them).
beforeAll(loadHolidayTables);

/** Compiles parameters through the real bundle loader (schema + compile), as users get them. */
function compile(params: Record<string, unknown>): FreezeWindowsParams {
  const bundle = loadBundle(
    JSON.stringify({
      apiVersion: 'tollgate.dev/v1',
      kind: 'PolicyBundle',
      metadata: { name: 'test', version: '1.0.0' },
      spec: { policies: { 'freeze-windows': params } },
    }),
    { source: 'test', policies: [freezeWindowsPolicy as Policy<unknown>] },
  );
  return bundle.policies[0]?.params as FreezeWindowsParams;
}

const entities = {
  'de-gmbh': { zone: 'Europe/Berlin', holidays: { country: 'DE', state: 'BE', types: ['public', 'bank'] } },
  'us-inc': { zone: 'America/New_York', holidays: { country: 'US' } },
  'au-pty': { zone: 'Australia/Lord_Howe' },
};

const close = {
  name: 'month-end-close',
  close: { start: { businessDay: -3, at: '18:00' }, end: { businessDay: 2, at: '23:59' } },
};

const params = compile({ entities, windows: [close] });
const entity = (id: string) => params.entities.find((e) => e.id === id)!;
const rules = params.rules.map((r) => r.rule);

function closeOf(id: string, year: number, month: number) {
  const from = fromWallTime({ year, month, day: daysInMonth(year, month), hour: 0, minute: 0 }, 'UTC');
  return entityWindows(rules, entity(id), new Date(from.getTime() - 20 * 86400000), from).find(
    (w) => w.closes === `${year}-${String(month).padStart(2, '0')}`,
  );
}

describe('zone conversion (Intl, wall-clock semantics)', () => {
  it.each([
    // zone, wall time, expected instant, case
    ['Europe/Berlin', '2027-01-05T23:59', '2027-01-05T22:59:00.000Z', 'winter, +01:00'],
    ['Europe/Berlin', '2027-07-01T12:00', '2027-07-01T10:00:00.000Z', 'summer, +02:00'],
    ['Europe/Berlin', '2027-03-28T02:30', '2027-03-28T01:00:00.000Z', 'skipped hour -> 03:00 CEST'],
    ['Europe/Berlin', '2027-03-28T02:00', '2027-03-28T01:00:00.000Z', 'first skipped minute -> 03:00 CEST'],
    ['Europe/Berlin', '2027-03-28T03:00', '2027-03-28T01:00:00.000Z', 'first valid minute'],
    ['Europe/Berlin', '2027-10-31T02:30', '2027-10-31T00:30:00.000Z', 'repeated hour -> earliest (CEST)'],
    ['America/New_York', '2027-03-14T02:15', '2027-03-14T07:00:00.000Z', 'skipped hour -> 03:00 EDT'],
    ['America/New_York', '2027-11-07T01:30', '2027-11-07T05:30:00.000Z', 'repeated hour -> earliest (EDT)'],
    ['Australia/Lord_Howe', '2027-10-03T02:10', '2027-10-02T15:30:00.000Z', '30-minute gap -> 02:30 +11:00'],
    ['Australia/Lord_Howe', '2027-10-03T01:59', '2027-10-02T15:29:00.000Z', 'just before the gap, +10:30'],
    [
      'Australia/Lord_Howe',
      '2027-04-04T01:45',
      '2027-04-03T14:45:00.000Z',
      '30-minute overlap -> earliest +11:00',
    ],
    ['Australia/Lord_Howe', '2027-04-04T02:00', '2027-04-03T15:30:00.000Z', 'after the overlap, +10:30'],
  ])('%s %s is %s (%s)', (zone, wall, instant) => {
    const [date = '', time = ''] = wall.split('T');
    const [year, month, day] = date.split('-').map(Number);
    const [hour, minute] = time.split(':').map(Number);
    expect(
      fromWallTime(
        { year: year!, month: month!, day: day!, hour: hour!, minute: minute! },
        zone,
      ).toISOString(),
    ).toBe(instant);
  });

  it('round-trips every hour through a Lord Howe year', () => {
    for (let t = Date.UTC(2027, 0, 1); t < Date.UTC(2028, 0, 1); t += 60 * 60000) {
      const wall = toWallTime(t, 'Australia/Lord_Howe');
      const back = fromWallTime(wall, 'Australia/Lord_Howe').getTime();
      // In the repeated half hour the earliest instant wins, so `back` may be 30 minutes earlier.
      expect(t - back === 0 || t - back === 30 * 60000).toBe(true);
    }
  });

  it.each([
    ['Europe/Berlin', 'Europe/Berlin'],
    ['europe/berlin', 'Europe/Berlin'],
    ['UTC', 'UTC'],
    ['Europe/Berlinn', undefined],
    ['+01:00', undefined],
    ['Mars/Olympus', undefined],
    ['', undefined],
  ])('canonicalZone(%j) = %j', (zone, expected) => {
    expect(canonicalZone(zone)).toBe(expected);
  });

  it("answers every zone of the runtime's list as a DateTimeFormat resolves it (the fast path is exact)", () => {
    for (const zone of Intl.supportedValuesOf('timeZone')) {
      expect(canonicalZone(zone)).toBe(
        new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone,
      );
    }
  });

  it('knows leap years, century rule included', () => {
    expect([2024, 2027, 2028, 2100, 2000].map((y) => daysInMonth(y, 2))).toEqual([29, 28, 29, 28, 29]);
  });
});

describe('business days (real holiday calendars)', () => {
  it.each([
    // entity, year, month, offset, expected date, why
    ['de-gmbh', 2027, 1, -1, '2027-01-29', 'month ends on Sunday -> Friday'],
    ['de-gmbh', 2027, 1, -3, '2027-01-27', ''],
    ['de-gmbh', 2026, 12, -1, '2026-12-30', 'Silvester (bank) is not a close day'],
    ['de-gmbh', 2026, 12, 1, '2027-01-04', 'New Year (Fri) then weekend'],
    ['de-gmbh', 2026, 12, 2, '2027-01-05', ''],
    ['de-gmbh', 2027, 3, -3, '2027-03-25', 'Easter Monday 29.3. and Good Friday 26.3. skipped'],
    ['de-gmbh', 2027, 3, 2, '2027-04-02', ''],
    ['us-inc', 2027, 3, -3, '2027-03-29', 'Good Friday is no US federal holiday'],
    ['us-inc', 2027, 5, -1, '2027-05-28', 'Memorial Day on the last day of May'],
    ['us-inc', 2027, 12, -1, '2027-12-30', "New Year's Day observed on Fri 31.12."],
    ['us-inc', 2027, 12, -5, '2027-12-23', 'Christmas observed on Fri 24.12.'],
    ['us-inc', 2027, 6, 3, '2027-07-06', 'Independence Day observed on Mon 5.7.'],
    ['de-gmbh', 2028, 2, -1, '2028-02-29', 'leap year: 29 February is a Tuesday'],
    ['de-gmbh', 2028, 2, -3, '2028-02-25', 'leap year'],
    ['de-gmbh', 2027, 2, -1, '2027-02-26', 'not a leap year'],
    ['de-gmbh', 2024, 2, -1, '2024-02-29', 'leap year: Thursday'],
  ])('%s %i-%i BD%i is %s %s', (id, year, month, offset, expected) => {
    expect(formatDate(businessDayFromMonthEnd(entity(id), year, month, offset))).toBe(expected);
  });

  it('applies working-week masks and extra and removed holidays', () => {
    const custom = compile({
      entities: {
        gulf: { zone: 'Asia/Dubai', workingDays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] },
        sunthu: { zone: 'Asia/Jerusalem', workingDays: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu'] },
        extra: { zone: 'Europe/Berlin', holidays: { country: 'DE' }, extraHolidays: ['2027-01-29'] },
        removed: { zone: 'America/New_York', holidays: { country: 'US' }, removedHolidays: ['2027-12-31'] },
      },
      windows: [close],
    });
    const of = (id: string) => custom.entities.find((e) => e.id === id)!;
    expect(formatDate(businessDayFromMonthEnd(of('sunthu'), 2027, 1, -1))).toBe('2027-01-31');
    expect(formatDate(businessDayFromMonthEnd(of('sunthu'), 2027, 1, -2))).toBe('2027-01-28');
    expect(formatDate(businessDayFromMonthEnd(of('extra'), 2027, 1, -1))).toBe('2027-01-28');
    expect(formatDate(businessDayFromMonthEnd(of('removed'), 2027, 12, -1))).toBe('2027-12-31');
    expect(isBusinessDay(of('gulf'), { year: 2027, month: 1, day: 1 })).toBe(true);
    expect(holidaysIn(of('extra'), 2027).get('2027-01-29')).toBe('extra holiday');
  });
});

describe('close windows', () => {
  it.each([
    // entity, month closed, start (UTC), end (UTC), why
    ['de-gmbh', 2026, 12, '2026-12-28T17:00:00.000Z', '2027-01-05T22:59:00.000Z', 'spans New Year'],
    ['us-inc', 2026, 12, '2026-12-29T23:00:00.000Z', '2027-01-06T04:59:00.000Z', 'spans New Year, EST'],
    ['de-gmbh', 2027, 3, '2027-03-25T17:00:00.000Z', '2027-04-02T21:59:00.000Z', 'starts CET, ends CEST'],
    ['us-inc', 2027, 2, '2027-02-24T23:00:00.000Z', '2027-03-03T04:59:00.000Z', 'EST'],
    ['us-inc', 2027, 3, '2027-03-29T22:00:00.000Z', '2027-04-03T03:59:00.000Z', 'EDT after 14 March'],
    ['us-inc', 2027, 10, '2027-10-27T22:00:00.000Z', '2027-11-03T03:59:00.000Z', 'EDT (fall back is 7.11.)'],
    ['au-pty', 2027, 9, '2027-09-28T07:30:00.000Z', '2027-10-04T12:59:00.000Z', '+10:30 then +11:00'],
    ['au-pty', 2027, 3, '2027-03-29T07:00:00.000Z', '2027-04-02T12:59:00.000Z', '+11:00 (DST ends 4 April)'],
    ['de-gmbh', 2028, 2, '2028-02-25T17:00:00.000Z', '2028-03-02T22:59:00.000Z', 'leap February'],
  ])('%s closing %i-%i: %s to %s (%s)', (id, year, month, start, end) => {
    const window = closeOf(id, year, month);
    expect(window?.start.toISOString()).toBe(start);
    expect(window?.end.toISOString()).toBe(end);
  });

  it('is in force from its start (inclusive) to its end (exclusive)', () => {
    const de = entity('de-gmbh');
    const at = (iso: string) => activeWindows(rules, de, new Date(iso)).map((w) => w.closes);
    expect(at('2026-12-28T16:59:59.999Z')).toEqual([]);
    expect(at('2026-12-28T17:00:00.000Z')).toEqual(['2026-12']);
    expect(at('2027-01-01T00:00:00.000Z')).toEqual(['2026-12']);
    expect(at('2027-01-05T22:58:59.999Z')).toEqual(['2026-12']);
    expect(at('2027-01-05T22:59:00.000Z')).toEqual([]);
  });

  it('uses overrides for quarter end, year end and one specific month (first match wins)', () => {
    const withOverrides = compile({
      entities,
      windows: [
        {
          ...close,
          close: {
            ...close.close,
            overrides: [
              {
                name: 'audit-close',
                months: ['2027-06'],
                start: { businessDay: -10, at: '08:00' },
                end: { businessDay: 10, at: '24:00' },
              },
              {
                name: 'year-end-close',
                months: [12],
                start: { businessDay: -5, at: '18:00' },
                end: { businessDay: 5, at: '23:59' },
              },
              {
                name: 'quarter-end-close',
                months: [3, 6, 9],
                start: { businessDay: -4, at: '18:00' },
                end: { businessDay: 3, at: '23:59' },
              },
            ],
          },
        },
      ],
    });
    const de = withOverrides.entities.find((e) => e.id === 'de-gmbh')!;
    const list = entityWindows(
      withOverrides.rules.map((r) => r.rule),
      de,
      new Date('2027-01-01T00:00:00Z'),
      new Date('2028-01-31T00:00:00Z'),
    ).map((w) => `${w.closes} ${w.window} ${w.startLocal} ${w.endLocal}`);
    expect(list).toContain('2027-03 quarter-end-close 2027-03-24T18:00 2027-04-05T23:59');
    expect(list).toContain('2027-06 audit-close 2027-06-17T08:00 2027-07-15T00:00');
    expect(list).toContain('2027-09 quarter-end-close 2027-09-27T18:00 2027-10-05T23:59');
    expect(list).toContain('2027-12 year-end-close 2027-12-23T18:00 2028-01-07T23:59');
    expect(list).toContain('2027-11 month-end-close 2027-11-26T18:00 2027-12-02T23:59');
  });

  it('says what is next', () => {
    const next = nextWindow(rules, entity('de-gmbh'), new Date('2027-01-10T00:00:00Z'));
    expect(next?.closes).toBe('2027-01');
    expect(next?.startLocal).toBe('2027-01-27T18:00');
  });
});

describe('absolute and cron windows', () => {
  it('reads absolute wall times in each entity zone, DST gaps moved forward', () => {
    const p = compile({
      entities,
      windows: [
        { name: 'migration', absolute: { start: '2027-03-28T02:30', end: '2027-03-28T06:00' } },
        { name: 'exact', absolute: { start: '2027-05-01T00:00:00Z', end: '2027-05-02T00:00:00+02:00' } },
      ],
    });
    const de = p.entities.find((e) => e.id === 'de-gmbh')!;
    const us = p.entities.find((e) => e.id === 'us-inc')!;
    const all = (e: typeof de) =>
      entityWindows(
        p.rules.map((r) => r.rule),
        e,
        new Date('2027-01-01Z'),
        new Date('2028-01-01Z'),
      );
    expect(all(de).map((w) => [w.window, w.start.toISOString(), w.end.toISOString()])).toEqual([
      ['migration', '2027-03-28T01:00:00.000Z', '2027-03-28T04:00:00.000Z'],
      ['exact', '2027-05-01T00:00:00.000Z', '2027-05-01T22:00:00.000Z'],
    ]);
    expect(all(us)[0]?.start.toISOString()).toBe('2027-03-28T06:30:00.000Z');
  });

  it('refuses a cron that restricts both day-of-month and day-of-week unless cronDayOr is set (the OR trap)', () => {
    expect(() =>
      compile({ entities, windows: [{ name: 'last-friday', cron: '0 0 25-31 * 5', duration: '1d' }] }),
    ).toThrow(/cron ORs them.*25th-31st OR any Friday/);
    const p = compile({
      entities,
      windows: [{ name: 'or-trap', cron: '0 0 25-31 * 5', duration: '1d', cronDayOr: true }],
    });
    const starts = entityWindows(
      p.rules.map((r) => r.rule),
      p.entities[0]!,
      new Date('2027-01-01T00:00:00Z'),
      new Date('2027-01-31T00:00:00Z'),
    ).map((w) => w.startLocal.slice(0, 10));
    // Friday 1, 8, 15, 22 January as well as the 25th-30th: cron's OR, exactly as documented.
    expect(starts).toEqual(
      expect.arrayContaining(['2027-01-01', '2027-01-08', '2027-01-22', '2027-01-25', '2027-01-26']),
    );
  });

  it('runs cron on the wall clock across DST and moves skipped starts to the first valid instant', () => {
    const p = compile({
      entities,
      windows: [
        { name: 'friday-batch', cron: '0 18 * * 5', duration: '14h', entities: ['us-inc'] },
        { name: 'sunday-maintenance', cron: '30 2 * * 0', duration: '1h', entities: ['de-gmbh'] },
      ],
    });
    const us = p.entities.find((e) => e.id === 'us-inc')!;
    const de = p.entities.find((e) => e.id === 'de-gmbh')!;
    const r = p.rules.map((x) => x.rule);
    const usWindows = entityWindows(
      r,
      us,
      new Date('2027-03-10T00:00:00Z'),
      new Date('2027-03-20T00:00:00Z'),
    );
    expect(usWindows.map((w) => [w.start.toISOString(), w.end.toISOString()])).toEqual([
      ['2027-03-12T23:00:00.000Z', '2027-03-13T13:00:00.000Z'],
      ['2027-03-19T22:00:00.000Z', '2027-03-20T12:00:00.000Z'],
    ]);
    const sunday = entityWindows(r, de, new Date('2027-03-27T00:00:00Z'), new Date('2027-03-29T00:00:00Z'));
    expect(sunday.map((w) => [w.start.toISOString(), w.end.toISOString()])).toEqual([
      ['2027-03-28T01:00:00.000Z', '2027-03-28T01:30:00.000Z'],
    ]);
  });
});

describe('dense cron windows', () => {
  it('answers for one instant but refuses a range it would have to truncate', () => {
    const p = compile({ entities, windows: [{ name: 'always', cron: '* * * * *', duration: '2m' }] });
    const de = p.entities.find((e) => e.id === 'de-gmbh')!;
    const r = p.rules.map((x) => x.rule);
    expect(activeWindows(r, de, new Date('2027-03-28T01:00:30Z')).length).toBe(2);
    expect(() =>
      entityWindows(r, de, new Date('2027-01-01T00:00:00Z'), new Date('2027-02-01T00:00:00Z')),
    ).toThrow(/starts more than 5000 times/);
  });
});

describe('bundle errors', () => {
  it.each([
    [{ entities: { x: { zone: 'Europe/Berlinn' } }, windows: [close] }, /x\/zone.*never falls back to UTC/],
    [{ entities: { x: { zone: '+01:00' } }, windows: [close] }, /not an IANA time zone/],
    [{ entities: { x: { zone: 'UTC', holidays: { country: 'XX' } } }, windows: [close] }, /country "XX"/],
    [
      { entities: { x: { zone: 'UTC', holidays: { country: 'DE', state: 'ZZ' } } }, windows: [close] },
      /state "ZZ"/,
    ],
    [{ entities: { x: { zone: 'UTC', extraHolidays: ['2027-02-30'] } }, windows: [close] }, /2027-02-30/],
    [
      {
        entities,
        windows: [
          {
            name: 'w',
            close: { start: { businessDay: 2, at: '18:00' }, end: { businessDay: -3, at: '23:59' } },
          },
        ],
      },
      /ends before it starts/,
    ],
    [
      {
        entities,
        windows: [{ name: 'w', close: { start: { businessDay: 0, at: '18:00' }, end: close.close.end } }],
      },
      /businessDay/,
    ],
    [
      {
        entities,
        windows: [{ ...close, close: { ...close.close, start: { businessDay: -3, at: '25:00' } } }],
      },
      /25:00/,
    ],
    [{ entities, windows: [{ name: 'w', cron: '0 18 * * 5' }] }, /needs a duration/],
    [{ entities, windows: [{ name: 'w', cron: '0 18 * *', duration: '1h' }] }, /five fields/],
    [{ entities, windows: [{ ...close, entities: ['nope'] }] }, /unknown entity "nope"/],
    [{ entities, windows: [close, close] }, /duplicate window name/],
    [{ entities, windows: [{ name: 'w' }] }, /exactly one of close, absolute or cron/],
    [
      {
        entities,
        windows: [{ name: 'w', absolute: { start: '2027-01-02T00:00', end: '2027-01-01T00:00' } }],
      },
      /ends before/,
    ],
  ])('rejects %j', (raw, message) => {
    expect(() => compile(raw)).toThrow(message);
  });

  it('never silently uses UTC for an entity with a bad zone: the whole bundle fails', () => {
    expect(() => compile({ entities: { de: { zone: 'Europe/Berlinn' } }, windows: [close] })).toThrow(
      /invalid policy bundle/,
    );
  });

  it('caches windows in force per instant without changing the answer', () => {
    const now = new Date('2027-01-04T12:00:00Z');
    const first = windowsInForce(params, now).map((w) => `${w.entity}:${w.closes}`);
    expect(first).toEqual(['au-pty:2026-12', 'de-gmbh:2026-12', 'us-inc:2026-12']);
    expect(windowsInForce(params, now)).toBe(windowsInForce(params, now));
    expect(windowsInForce(params, new Date('2027-01-20T12:00:00Z'))).toEqual([]);
  });
});
