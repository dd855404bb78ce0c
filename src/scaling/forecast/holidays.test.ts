import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHolidayPredicate, learnHolidayEffect } from './holidays.ts';
import { forecastWithSelection, selectModel } from './model-selection.ts';
import { forecastHistory } from './pipeline.ts';
import { getInstantOfLocalTime, getLocalTime } from './time-zone.ts';
import { getWallClock } from './wall-clock.ts';

const HOUR = 3_600_000;

describe('holidays', () => {
  it('knows public holidays by country (date-holidays), in the shop time zone', () => {
    const us = createHolidayPredicate('US');
    assert.equal(us(Date.parse('2001-05-28T12:00:00Z')), true, 'Memorial Day 2001');
    assert.equal(us(Date.parse('2001-05-29T12:00:00Z')), false);
    assert.equal(createHolidayPredicate('GB')(Date.parse('2026-12-25T10:00:00Z')), true);
    // 04:00 UTC on 1 January is still New Year's Eve in Los Angeles.
    assert.equal(createHolidayPredicate('US', 'America/Los_Angeles')(Date.parse('2026-01-01T04:00:00Z')), false);
    assert.throws(() => createHolidayPredicate('XX'), { code: 'INVALID_OPTION' });
  });

  it('reads a region after the state (DE-BY-A: Augsburg) and refuses one that does not exist', () => {
    const peaceFestival = Date.parse('2026-08-08T10:00:00Z');
    assert.equal(createHolidayPredicate('DE-BY-A')(peaceFestival), true, 'Augsburger Friedensfest');
    assert.equal(createHolidayPredicate('DE-BY')(peaceFestival), false);
    assert.throws(() => createHolidayPredicate('DE-BY-XYZ'), { code: 'INVALID_OPTION' });
    assert.throws(() => createHolidayPredicate('DE-BY-A-B'), { code: 'INVALID_OPTION' });
    assert.throws(() => createHolidayPredicate(''), { code: 'INVALID_OPTION' });
  });

  // Daily shape × weekday; public holidays at 40 % of a normal day.
  const start = Date.parse('2025-01-06T00:00:00Z');
  const us = createHolidayPredicate('US');
  const y = Array.from({ length: 168 * 30 }, (_, i) => {
    const t = start + i * HOUR;
    const h = new Date(t).getUTCHours();
    const v = 100 * (1 + Math.sin(((h - 8) / 24) * 2 * Math.PI)) + 20 + 5 * Math.sin(i * 0.37);
    return Math.round(v * (us(t) ? 0.4 : 1));
  });
  const calendar = { startMs: start, isHoliday: us };

  it('learns the holiday effect by hour of day from the holidays in the history', () => {
    const effect = learnHolidayEffect(y, calendar);
    assert.ok(effect);
    const mid = effect[14];
    assert.ok(Math.abs(Math.expm1(mid) + 1 - 0.4) < 0.1, `effect at 14:00 ×${Math.exp(mid)}`);
  });

  it('applies it to a holiday in the forecast when validation agrees (Independence Day 2025)', () => {
    const history = y.slice(0, (Date.parse('2025-07-01T00:00:00Z') - start) / HOUR);
    const selection = selectModel(history, { calendar });
    assert.ok(selection.chosen.holidayEffect, selection.chosen.name);
    const f = forecastWithSelection(history, selection, 168, [], { calendar });
    const july4Noon = (Date.parse('2025-07-04T12:00:00Z') - start) / HOUR - history.length;
    const july3Noon = july4Noon - 24;
    assert.ok(f.mean[july4Noon] < 0.6 * f.mean[july3Noon], `${f.mean[july4Noon]} vs ${f.mean[july3Noon]}`);
  });

  // The models count local hours after a clock change; the holidays must be read at the UTC hours those are.
  for (const { timeZone, country, from, to, holiday } of [
    { timeZone: 'Europe/Berlin', country: 'DE', from: [2025, 11, 3], to: [2026, 4, 5], holiday: 'Easter Monday 2026, a week after the spring change' },
    { timeZone: 'America/New_York', country: 'US', from: [2026, 6, 1], to: [2026, 11, 10], holiday: 'Veterans Day 2026, ten days after the autumn change' },
  ]) {
    it(`on the wall clock, applies the effect to the holiday's local hours from midnight to midnight (${timeZone}, ${holiday})`, () => {
      const isHoliday = createHolidayPredicate(country, timeZone);
      // Demand by local hour and weekday, in UTC hours; public holidays at 40 %.
      const demand = (t: number) => {
        const l = getLocalTime(new Date(t), timeZone);
        return Math.round((200 + 20 * l.dayOfWeek + 100 * Math.sin(((l.hour - 6) / 24) * 2 * Math.PI)) * (isHoliday(t) ? 0.4 : 1));
      };
      const start = getInstantOfLocalTime(from[0], from[1], from[2], 0, timeZone).getTime();
      const end = getInstantOfLocalTime(to[0], to[1], to[2], 0, timeZone).getTime();
      const history = Array.from({ length: (end - start) / HOUR }, (_, i) => demand(start + i * HOUR));
      const horizon = 72;
      const clock = getWallClock(start, history.length + horizon, timeZone);
      assert.ok(clock, 'the clock changes inside the history');
      const f = forecastHistory(history, horizon, clock, [], { calendar: { startMs: start, isHoliday } });
      assert.ok(f.selection.chosen.holidayEffect, f.selection.chosen.name);
      const wrong = f.mean.flatMap((v, i) => {
        const t = end + i * HOUR;
        const l = getLocalTime(new Date(t), timeZone);
        return Math.abs(v - demand(t)) > 0.05 * demand(t) + 1 ? [`${l.month}-${l.day} ${l.hour}:00 local: ${v.toFixed(1)} for ${demand(t)}`] : [];
      });
      assert.deepEqual(wrong, []);
      assert.equal(f.mean.filter((_, i) => isHoliday(end + i * HOUR)).length, 24);
    });
  }
});
