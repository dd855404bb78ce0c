import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBacktest } from './backtest.ts';
import type { HourlyPoint } from './csv.ts';
import { forecastSeasonalNaive } from './seasonal-models.ts';
import { getInstantOfLocalTime, getLocalTime } from './time-zone.ts';
import { getWallClock, getWallClockIndex, toWallClock, viewOnWallClock } from './wall-clock.ts';

const HOUR = 3_600_000;

describe('wall clock (daylight saving time)', () => {
  it('numbers UTC hours by their local clock hour: a step of 2 where spring skips one, 0 where autumn repeats one', () => {
    // New York, 8 March 2026: 02:00 EST becomes 03:00 EDT at 07:00Z.
    const spring = getWallClockIndex(Date.parse('2026-03-08T04:00:00Z'), 6, 'America/New_York');
    assert.deepEqual(spring, [0, 1, 2, 4, 5, 6]);
    // New York, 1 November 2026: 02:00 EDT becomes 01:00 EST at 06:00Z (01:00 local twice).
    const autumn = getWallClockIndex(Date.parse('2026-11-01T03:00:00Z'), 6, 'America/New_York');
    assert.deepEqual(autumn, [0, 1, 2, 2, 3, 4]);
    // Berlin, 25 October 2026 at 01:00Z.
    assert.deepEqual(getWallClockIndex(Date.parse('2026-10-24T23:00:00Z'), 4, 'Europe/Berlin'), [0, 1, 1, 2]);
    // No change: no clock to use.
    assert.equal(getWallClock(Date.parse('2026-03-01T00:00:00Z'), 24 * 60, 'UTC'), undefined);
    assert.equal(getWallClock(Date.parse('2026-03-01T00:00:00Z'), 24 * 60, 'Asia/Tokyo'), undefined);
    assert.equal(getWallClock(Date.parse('2026-05-01T00:00:00Z'), 24 * 60, 'America/New_York'), undefined);
    assert.ok(getWallClock(Date.parse('2026-03-01T00:00:00Z'), 24 * 60, 'America/New_York'));
  });

  it('reads each local hour back to a UTC hour: the first of a repeated hour, the one after a skipped hour', () => {
    const spring = viewOnWallClock([1, 2, 3], 3, [0, 1, 2, 4, 5, 6]);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(spring.toUtcHour), [0, 1, 2, 3, 3, 4, 5, 6]);
    const autumn = viewOnWallClock([1, 2, 3], 3, [0, 1, 2, 2, 3, 4]);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(autumn.toUtcHour), [0, 1, 2, 4, 5, 6]);
    assert.deepEqual([0, 1, 2].map(viewOnWallClock([1, 2], 1, undefined).toUtcHour), [0, 1, 2]);
    // Santiago skips midnight (6 September 2026, 00:00 → 01:00): the skipped hour is read on its own date.
    const start = Date.parse('2026-09-06T02:00:00Z');
    const clock = getWallClockIndex(start, 5, 'America/Santiago');
    assert.deepEqual(clock, [0, 1, 3, 4, 5]);
    const skipped = viewOnWallClock([1, 2], 3, clock).toUtcHour(2);
    assert.equal(getLocalTime(new Date(start + skipped * HOUR), 'America/Santiago').day, 6);
  });

  it('averages the hours that share a local hour and interpolates the skipped one', () => {
    assert.deepEqual(toWallClock([10, 20, 30, 50], [0, 1, 1, 2]), [10, 25, 50]);
    assert.deepEqual(toWallClock([10, 20, 40, 50], [0, 1, 3, 4]), [10, 20, 30, 40, 50]);
  });

  it('on the wall clock, a weekly pattern of local hours stays weekly across the change; in UTC it moves by an hour', () => {
    // Traffic by local hour of the week, recorded in UTC hours, 4 weeks from 15 February 2026.
    const start = Date.parse('2026-02-15T05:00:00Z');
    const byLocalHour = (t: number) => {
      const l = getLocalTime(new Date(t), 'America/New_York');
      return 100 + 50 * l.dayOfWeek + 10 * l.hour;
    };
    const y = Array.from({ length: 4 * 168 }, (_, i) => byLocalHour(start + i * HOUR));
    const split = 3 * 168; // the held-out week holds the change of 8 March at 07:00Z
    const truth = y.slice(split);
    const clock = getWallClock(start, y.length, 'America/New_York');
    assert.ok(clock);
    const view = viewOnWallClock(y.slice(0, split), 168, clock);
    const onWallClock = view.toUtc(forecastSeasonalNaive(view.y, 168, view.horizon));
    assert.deepEqual(onWallClock, truth);
    const inUtc = forecastSeasonalNaive(y.slice(0, split), 168, 168);
    assert.equal(inUtc.filter((v, i) => v !== truth[i]).length, 166);
  });

  it('backtest --tz: Atlanta departures kept in UTC hours forecast better on the New York wall clock after the April change', () => {
    // The committed series is on the local clock; a UTC recorder would have kept it like this.
    const rows = readFileSync(join(import.meta.dirname, '../test-data/real/us-flights-2001-atl.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const wall0 = Date.parse(rows[0][0]);
    const utc: HourlyPoint[] = [];
    for (let t = getInstantOfLocalTime(2001, 1, 1, 0, 'America/New_York').getTime(); t < Date.parse('2001-05-13T05:00:00Z'); t += HOUR) {
      const l = getLocalTime(new Date(t), 'America/New_York');
      utc.push({ hour: new Date(t), requests: Number(rows[Math.round((Date.UTC(l.year, l.month - 1, l.day, l.hour) - wall0) / HOUR)][1]) });
    }
    // The six weeks after 1 April 2001, when the clocks went forward.
    const inUtc = runBacktest(utc, { heldOutWeeks: 6 });
    const onWallClock = runBacktest(utc, { heldOutWeeks: 6, timeZone: 'America/New_York' });
    // Measured: mean MASE 0.862 in UTC (0.944 × seasonal naive's), 0.692 on the wall clock (0.758 ×).
    assert.ok(onWallClock.meanMase < inUtc.meanMase * 0.9, `${onWallClock.meanMase} vs ${inUtc.meanMase}`);
    assert.ok(onWallClock.ratio !== null && onWallClock.ratio < 0.85, `ratio ${onWallClock.ratio}`);
  });
});
