import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHolidayPredicate, learnHolidayEffect } from './holidays.ts';
import { forecastWithSelection, selectModel } from './model-selection.ts';

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
});
