import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScalingInputError } from '../errors.ts';
import { getTestDataset } from '../test-data/generate.ts';
import { getRealDataset } from '../test-data/real-datasets.ts';
import { getWorstWeekRatio, runBacktest } from './backtest.ts';
import { SEED_BASE_PATTERN, getBaseMultiplier } from './base-pattern.ts';
import { getBlackFriday, getCyberMonday, getNextCalendarEventYear, getSeedCalendarEvents } from './calendar.ts';
import { parseHourlyCsv } from './csv.ts';
import { createEventMultiplierLookup, getEventMultiplier, parseSaleEvents } from './events.ts';
import { forecastHourly } from './forecast.ts';
import { getMase, getSmape } from './metrics.ts';

describe('base pattern', () => {
  it('holds each listed multiplier until the next listed hour (Monday 03:00 is 0.2, not 1.0)', () => {
    assert.equal(getBaseMultiplier(SEED_BASE_PATTERN, 1, 3), 0.2);
    assert.equal(getBaseMultiplier(SEED_BASE_PATTERN, 1, 11), 1.0);
    assert.equal(getBaseMultiplier(SEED_BASE_PATTERN, 5, 23), 1.0);
    assert.equal(getBaseMultiplier(SEED_BASE_PATTERN, 5, 19), 1.8);
  });
});

describe('calendar', () => {
  it('puts Black Friday on the day after the fourth Thursday of November', () => {
    assert.deepEqual(getBlackFriday(2024), { year: 2024, month: 11, day: 29 });
    assert.deepEqual(getBlackFriday(2026), { year: 2026, month: 11, day: 27 });
    assert.deepEqual(getBlackFriday(2025), { year: 2025, month: 11, day: 28 });
    assert.deepEqual(getCyberMonday(2024), { year: 2024, month: 12, day: 2 });
  });
  it('reproduces the seed dates for 2024 with their multipliers', () => {
    const events = getSeedCalendarEvents(2024);
    assert.deepEqual(
      events.map((e) => [e.name, e.startsAt.toISOString().slice(0, 10), e.trafficMultiplier]),
      [['Black Friday', '2024-11-29', 10], ['Cyber Monday', '2024-12-02', 8], ['Christmas Sale', '2024-12-15', 5]],
    );
  });
  it('gives the next Black Friday that has not ended: this year until it ends, next year from then on', () => {
    assert.equal(getNextCalendarEventYear('black-friday', new Date('2026-11-01T00:00:00Z')), 2026);
    assert.equal(getNextCalendarEventYear('black-friday', new Date('2026-11-27T23:59:00Z')), 2026);
    assert.equal(getNextCalendarEventYear('black-friday', new Date('2026-11-28T00:00:00Z')), 2027);
    assert.equal(getNextCalendarEventYear('black-friday', new Date('2026-12-04T12:00:00Z')), 2027);
    // In New York Black Friday 2026 ends at 05:00Z on the 28th.
    assert.equal(getNextCalendarEventYear('black-friday', new Date('2026-11-28T04:00:00Z'), 'America/New_York'), 2026);
    assert.equal(getNextCalendarEventYear('christmas-sale', new Date('2026-12-04T12:00:00Z')), 2026);
  });
  it('starts the event at local midnight of the shop time zone', () => {
    const [bf] = getSeedCalendarEvents(2026, 'America/New_York');
    assert.equal(bf.startsAt.toISOString(), '2026-11-27T05:00:00.000Z');
  });
});

describe('events', () => {
  const [event] = parseSaleEvents([{ name: 'Flash', startsAt: '2026-11-27T10:00:00Z', endsAt: '2026-11-27T12:00:00Z', trafficMultiplier: '10', rampUpMinutes: 10, decayMinutes: 20 }]);
  it('ramps linearly to the multiplier, holds it, and decays before the end', () => {
    const at = (iso: string) => getEventMultiplier([event], Date.parse(iso));
    assert.equal(at('2026-11-27T09:59:00Z'), 1);
    assert.equal(at('2026-11-27T10:05:00Z'), 5.5);
    assert.equal(at('2026-11-27T11:00:00Z'), 10);
    assert.equal(at('2026-11-27T11:50:00Z'), 5.5);
    assert.equal(at('2026-11-27T12:00:00Z'), 1);
  });
  it('reaches the multiplier in a sale shorter than its ramp and decay together, both shortened in proportion', () => {
    // 30 minutes at ×10 with the default shape (15 min ramp, 60 min decay): 75 min of shape in 30 min. Taken as
    // they are, ramp and decay crossed at 6 min, f = min(6/15, 24/60) = 0.4, so the sale peaked at 1 + 9 × 0.4 =
    // ×4.6 and the plan sized less than half its peak. Shortened by 30/75: ramp 6 min, decay 24 min, ×10 at
    // 10:06; halfway up the ramp (10:03) and down the decay (10:18) 1 + 9 × 0.5 = ×5.5.
    const [flash] = parseSaleEvents([{ name: 'Flash', startsAt: '2026-11-27T10:00:00Z', endsAt: '2026-11-27T10:30:00Z', trafficMultiplier: 10 }]);
    const at = (iso: string) => getEventMultiplier([flash], Date.parse(iso));
    assert.equal(at('2026-11-27T10:06:00Z'), 10);
    assert.equal(at('2026-11-27T10:03:00Z'), 5.5);
    assert.equal(at('2026-11-27T10:18:00Z'), 5.5);
    assert.equal(at('2026-11-27T10:30:00Z'), 1);
  });
  it('looks at the events of each hour only, with the multiplier every event gives, in or out of order', () => {
    // Overlapping sales of every shape, some starting or ending inside an hour, one off the minute.
    const many = parseSaleEvents(
      Array.from({ length: 40 }, (_, i) => ({
        name: `Sale ${i}`,
        startsAt: new Date(Date.parse('2026-11-27T00:00:00Z') + i * 37 * 60_000 + (i % 3) * 1_000).toISOString(),
        endsAt: new Date(Date.parse('2026-11-27T00:00:00Z') + i * 37 * 60_000 + (30 + (i % 7) * 45) * 60_000).toISOString(),
        trafficMultiplier: 0.5 + (i % 9),
        rampUpMinutes: i % 4 === 0 ? 0 : 10,
        decayMinutes: (i % 5) * 10,
      })),
    );
    const lookup = createEventMultiplierLookup(many);
    const instants = Array.from({ length: 2_000 }, (_, k) => Date.parse('2026-11-26T23:00:00Z') + k * 61_000);
    for (const t of [...instants, ...instants.toReversed()]) assert.equal(lookup(t), getEventMultiplier(many, t), new Date(t).toISOString());
  });
  it('rejects an event that ends before it starts with INVALID_DATE', () => {
    assert.throws(
      () => parseSaleEvents([{ name: 'x', startsAt: '2026-11-28', endsAt: '2026-11-27', trafficMultiplier: 2 }]),
      (e: unknown) => e instanceof ScalingInputError && e.code === 'INVALID_DATE',
    );
    assert.throws(() => parseSaleEvents([{ name: 'x', startsAt: '2026-02-30', endsAt: '2026-03-01', trafficMultiplier: 2 }]), { code: 'INVALID_DATE' });
  });
  // A multiplier of 0 or below is a bad value of the events file, like one above the maximum: not a capacity.
  it('refuses a traffic multiplier outside the sale_events API\'s range (0.01 to 1000) as INVALID_OPTION', () => {
    for (const trafficMultiplier of [0, -2, 0.009, 1000.5]) {
      assert.throws(() => parseSaleEvents([{ name: 'x', startsAt: '2026-11-27', endsAt: '2026-11-28', trafficMultiplier }]), { code: 'INVALID_OPTION', message: /trafficMultiplier must be from 0\.01 to 1000/ }, String(trafficMultiplier));
    }
  });
  it('multiplies the base pattern by the event in the hourly forecast', () => {
    const hours = forecastHourly({ baseRequestsPerSecond: 100, events: [event] }, new Date('2026-11-27T11:00:00Z'), new Date('2026-11-27T12:00:00Z'));
    // Friday 11:00 is 1.3 × 100 rps; the event holds ×10 until 11:40, then decays.
    assert.equal(hours[0].peakRequestsPerSecond, 1300);
    assert.ok(hours[0].meanRequestsPerSecond < 1300 && hours[0].meanRequestsPerSecond > 1000);
  });
});

describe('hourly CSV', () => {
  it('parses hour,requests rows', () => {
    const points = parseHourlyCsv('hour,requests\n2026-01-01T00:00:00Z,10\n2026-01-01T01:00:00Z,12\n');
    assert.deepEqual(points.map((p) => p.requests), [10, 12]);
  });
  it('rejects malformed rows with MALFORMED_CSV naming the line', () => {
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T00:00:00Z,abc\n'), /line 2/);
    assert.throws(() => parseHourlyCsv('time,value\n'), { code: 'MALFORMED_CSV' });
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T00:00:00Z,-1\n'), { code: 'MALFORMED_CSV' });
  });
  it('reads a count as a finite decimal number ≥ 0 and refuses every other form with one line', () => {
    const count = (cell: string) => parseHourlyCsv(`hour,requests\n2026-01-01T00:00:00Z,${cell}\n`)[0].requests;
    const accepted: [string, number][] = [['12', 12], ['12.5', 12.5], ['12.', 12], ['.5', 0.5], ['+5', 5], [' 12 ', 12], ['"  12  "', 12], ['007', 7], ['1e3', 1000], ['1.2E+06', 1_200_000], ['9007199254740991', 9007199254740991]];
    assert.deepEqual(accepted.map(([cell]) => [cell, count(cell)]), accepted);
    for (const cell of ['Infinity', '+Infinity', 'NaN', '0x10', '0b1', '0o7', '-5', '-0', '1_000', '1e', 'e3', '+', '.', '１２']) {
      assert.throws(() => count(cell), (e: Error & { code?: string }) => e.code === 'MALFORMED_CSV' && e.message === `CSV line 2: requests "${cell}" is not a count (a decimal number ≥ 0, e.g. 12, 12.5 or 1.2e3)`, cell);
    }
    // Past 2^53 − 1 (1e400 is Infinity to Number(); one 1e308 overflowed the MASE scale, every MASE read 0).
    for (const cell of ['1e400', '1e308', '9007199254740992']) {
      assert.throws(() => count(cell), (e: Error & { code?: string }) => e.code === 'MALFORMED_CSV' && e.message === `CSV line 2: requests "${cell}" is too large for a count (at most 9007199254740991)`, cell);
    }
  });
  it('refuses duplicate and out-of-order hours, naming them', () => {
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:00Z,2\n'), /line 3: duplicate hour 2026-01-01T00:00:00.000Z/);
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T01:00:00Z,1\n2026-01-01T00:00:00Z,2\n'), /line 3: .*sorted ascending/);
  });
  it('reads spreadsheet and database exports: quotes, a byte-order mark, CRLF, a space before the time, semicolons', () => {
    const hours = (text: string) => parseHourlyCsv(text).map((p) => [p.hour.toISOString(), p.requests]);
    const expected = [
      ['2026-01-01T00:00:00.000Z', 10],
      ['2026-01-01T01:00:00.000Z', 12.5],
    ];
    assert.deepEqual(hours('\uFEFF"hour","requests"\r\n"2026-01-01T00:00:00Z","10"\r\n\r\n"2026-01-01T01:00:00Z",12.5\r\n'), expected);
    assert.deepEqual(hours('Hour;Requests\n2026-01-01 00:00:00;10\n2026-01-01 01:00;12.5\n'), expected);
    assert.deepEqual(hours('requests\thour\n10\t2026-01-01T01:00:00+01:00\n12.5\t2026-01-01T02:00:00+01:00\n'), expected);
    // A spreadsheet's empty rows (formatted, or below the data) come out as delimiters alone: as blank as a blank line.
    assert.deepEqual(hours('hour;requests;;\r\n2026-01-01T00:00:00Z;10;;\r\n;;;\r\n2026-01-01T01:00:00Z;12.5;;\r\n;;;\r\n;;;\r\n'), expected);
    assert.deepEqual(hours('hour,requests\n2026-01-01T00:00:00Z,10\n2026-01-01T01:00:00Z,12.5\n,\n'), expected);
    // Blank lines do not shift the line numbers in messages; a broken quote is refused, not guessed at.
    assert.throws(() => parseHourlyCsv('hour,requests\n\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:00Z,2\n'), /line 4: duplicate hour/);
    assert.throws(() => parseHourlyCsv('hour,requests\n"2026-01-01T00:00:00Z,1\n'), { code: 'MALFORMED_CSV', message: /Quote Not Closed/ });
    assert.throws(() => parseHourlyCsv('hour,requests\n1767225600,1\n'), { code: 'MALFORMED_CSV', message: /line 2: "1767225600" is not an ISO timestamp/ });
    // Refused rather than guessed: a blank count, hex, an hour 24, and "." grouping thousands where ";" separates the columns.
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T00:00:00Z,"  "\n'), { code: 'MALFORMED_CSV', message: /is not a count/ });
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T00:00:00Z,0x10\n'), { code: 'MALFORMED_CSV', message: /is not a count/ });
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T24:00Z,1\n'), { code: 'MALFORMED_CSV', message: /not an ISO timestamp/ });
    assert.throws(() => parseHourlyCsv('hour;requests\n2026-01-01T00:00Z;1.234\n'), { code: 'MALFORMED_CSV', message: /ambiguous/ });
    assert.deepEqual(hours('hour,requests\n2026-01-01T00:00:00Z," 10 "\n2026-01-01T01:00:00Z,1.25e1\n'), expected);
  });
  it('reads a time without an offset as UTC whatever the machine\'s time zone (no hour lost or doubled at a clock change)', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      // 2026-03-08 02:00 does not exist on New York's clock: read as local time, it became 03:00, a duplicate.
      const points = parseHourlyCsv('hour,requests\n2026-03-08T01:00:00,1\n2026-03-08T02:00:00,2\n2026-03-08T03:00:00,3\n');
      assert.deepEqual(points.map((p) => p.hour.toISOString()), ['2026-03-08T01:00:00.000Z', '2026-03-08T02:00:00.000Z', '2026-03-08T03:00:00.000Z']);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
  it('fills a gap (linear interpolation without a week before it) and reports how', () => {
    let report: { filledHours: number; method: string } | undefined;
    const points = parseHourlyCsv('hour,requests\n2026-01-01T00:00:00Z,10\n2026-01-01T03:00:00Z,40\n', 'h.csv', (g) => {
      report = g;
    });
    assert.deepEqual(points.map((p) => p.requests), [10, 20, 30, 40]);
    assert.equal(report?.filledHours, 2);
    assert.match(report?.method ?? '', /one week earlier.*linear interpolation/);
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T00:00:00Z,1\n2026-02-01T00:00:00Z,1\n'), /gaps longer than 168 h/);
  });
});

describe('a history kept on a half or quarter hour (India +05:30, Nepal +05:45)', () => {
  it('is moved onto whole UTC hours, each split between the two it overlaps, and says so', () => {
    // 10:00+05:30 is 04:30Z: its hour covers half of 04:00Z and half of 05:00Z.
    let note: { offsetMinutes: number; hours: number } | undefined;
    const points = parseHourlyCsv('hour,requests\n2026-01-01T10:00:00+05:30,10\n2026-01-01T11:00:00+05:30,30\n2026-01-01T12:00:00+05:30,50\n', 'in.csv', undefined, (r) => {
      note = r;
    });
    assert.deepEqual(points.map((p) => [p.hour.toISOString(), p.requests]), [['2026-01-01T05:00:00.000Z', 20], ['2026-01-01T06:00:00.000Z', 40]]);
    assert.deepEqual(note, { offsetMinutes: 30, hours: 2 });
    // Nepal: 10:00+05:45 is 04:15Z, so 05:00Z holds the last quarter of the first hour and three quarters of the next.
    const nepal = parseHourlyCsv('hour,requests\n2026-01-01T10:00:00+05:45,40\n2026-01-01T11:00:00+05:45,80\n');
    assert.deepEqual(nepal.map((p) => [p.hour.toISOString(), p.requests]), [['2026-01-01T05:00:00.000Z', 70]]);
  });
  it('refuses hours that mix offsets within the hour, or a single such row', () => {
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T10:00:00+05:30,1\n2026-01-01T05:00:00Z,1\n'), { code: 'MALFORMED_CSV', message: /line 3: .* starts 0 minutes past a UTC hour, the rows before it 30/ });
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T10:00:00+05:30,1\n'), { code: 'MALFORMED_CSV', message: /one row/ });
    assert.throws(() => parseHourlyCsv('hour,requests\n2026-01-01T10:10:00Z,1\n2026-01-01T11:10:00Z,1\n'), { code: 'MALFORMED_CSV', message: /not on the hour/ });
  });
});

describe('accuracy metrics', () => {
  it('computes sMAPE and MASE by their definitions', () => {
    assert.equal(getSmape([100, 100], [100, 300]), 50);
    // Training [1,2,3,5] with m = 2: seasonal-naive errors |3−1|, |5−2| → scale 2.5; test MAE 1 → MASE 0.4.
    assert.equal(getMase([10], [11], [1, 2, 3, 5], 2), 0.4);
  });
});

describe('backtest on the synthetic test datasets', () => {
  for (const name of ['shop-steady', 'shop-growing']) {
    it(`the chosen model beats seasonal naive on ${name}`, () => {
      const r = runBacktest(getTestDataset(name), { heldOutWeeks: 2 });
      assert.ok(r.meanMase < r.seasonalNaiveMeanMase, `MASE ${r.meanMase} vs ${r.seasonalNaiveMeanMase}`);
      assert.equal(r.beatsSeasonalNaive, true);
    });
  }
  it('scores a constant series as a tie with seasonal naive, not 0 ÷ 0', () => {
    const start = Date.parse('2026-01-05T00:00:00Z');
    const r = runBacktest(Array.from({ length: 6 * 168 }, (_, i) => ({ hour: new Date(start + i * 3_600_000), requests: 42 })), { heldOutWeeks: 2 });
    assert.equal(r.ratio, 1);
    assert.deepEqual(r.folds.map((f) => f.ratio), [1, 1]);
  });
  it('gives no ratio to a week seasonal naive forecasts exactly and the model does not: counted above it, left out of the worst week', () => {
    // A daily shape with noise for 5 weeks, then the last week again: seasonal naive is exact on week 6.
    const start = Date.parse('2026-01-05T00:00:00Z');
    let seed = 7;
    const noise = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648 - 0.5;
    };
    const y = Array.from({ length: 5 * 168 }, (_, i) => Math.round(100 + 60 * Math.sin((((i % 24) - 8) / 24) * 2 * Math.PI) + 30 * noise()));
    y.push(...y.slice(4 * 168));
    const series = y.map((requests, i) => ({ hour: new Date(start + i * 3_600_000), requests }));
    const r = runBacktest(series, { heldOutWeeks: 2 });
    const [before, repeated] = r.folds;
    assert.equal(repeated.seasonalNaive.mase, 0);
    assert.ok(repeated.model.mase > 0);
    assert.equal(repeated.ratio, null);
    assert.ok(before.ratio !== null && Number.isFinite(before.ratio));
    assert.equal(r.weeksAtOrBelowSeasonalNaive, before.model.mase <= before.seasonalNaive.mase ? 1 : 0);
    assert.equal(getWorstWeekRatio(r.folds), before.ratio);
    // The means include the week: the model's error there over seasonal naive's zero.
    assert.equal(r.ratio, r.meanMase / r.seasonalNaiveMeanMase);
    // Held out alone, nothing has a ratio.
    const alone = runBacktest(series, { heldOutWeeks: 1 });
    assert.equal(alone.ratio, null);
    assert.equal(getWorstWeekRatio(alone.folds), null);
    assert.equal(alone.weeksAtOrBelowSeasonalNaive, 0);
  });
  it('forecasts each held-out week from the weeks before it only: the same fold on the series cut after it, or with every later hour changed', () => {
    // Atlanta departures on the New York wall clock (daylight saving time starts on 1 April 2001, before
    // the first held-out week), with a sale event in the last week: neither the clock nor the event list
    // may carry the later weeks into an earlier fold.
    const series = getRealDataset('us-flights-2001-atl');
    const WEEK = 168;
    const last = series.length - WEEK;
    const events = parseSaleEvents([{ name: 'Flash sale', startsAt: series[last + 30].hour, endsAt: series[last + 40].hour, trafficMultiplier: 3 }]);
    const options = { heldOutWeeks: 3, timeZone: 'America/New_York', events };
    const full = runBacktest(series, options);
    const cut = runBacktest(series.slice(0, series.length - 2 * WEEK), { ...options, heldOutWeeks: 1 });
    const split = series.length - 3 * WEEK;
    const changed = series.map((p, i) => (i >= split + WEEK ? { hour: p.hour, requests: p.requests * 3 + (i % 7) } : p));
    const later = runBacktest(changed, options);
    assert.equal(full.folds.length, 3);
    assert.equal(full.folds[0].testStart, series[split].hour.toISOString());
    assert.deepEqual(cut.folds[0], full.folds[0]);
    assert.deepEqual(later.folds[0], full.folds[0]);
    // The changed weeks are scored on their new values: a check that the change reached the backtest.
    assert.notDeepEqual(later.folds[2], full.folds[2]);
  });
  it('refuses a series too short to hold out weeks', () => {
    assert.throws(() => runBacktest(getTestDataset('shop-steady').slice(0, 168 * 4), { heldOutWeeks: 2 }), { code: 'INSUFFICIENT_HISTORY' });
  });
});
