import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getRealDataset } from '../test-data/real-datasets.ts';
import { runBacktest } from './backtest.ts';
import { MAX_BURST_HOURS, cleanOutliers } from './outliers.ts';
import { WEEK } from './seasonal-models.ts';

/** 8 weeks of a daily cycle (quiet nights, busier weekdays) with deterministic noise of a few per cent. */
function shopSeries(weeks = 8): number[] {
  return Array.from({ length: weeks * WEEK }, (_, i) => {
    const hour = i % 24;
    const day = Math.floor(i / 24) % 7;
    const base = (hour < 6 ? 5 : 100 + 60 * Math.sin(((hour - 6) / 18) * Math.PI)) * (day >= 5 ? 0.7 : 1);
    return Math.round(base * (1 + 0.05 * Math.sin(i * 1.7) * Math.cos(i * 0.31)));
  });
}

/** Hours i of week `week` with 80 ≤ i mod 168 < 90 (a Thursday, 08:00–17:00) set by `f`. */
function inject(y: number[], week: number, f: (v: number) => number): number[] {
  return y.map((v, i) => (Math.floor(i / WEEK) === week && i % WEEK >= 80 && i % WEEK < 90 ? f(v) : v));
}

describe('outlier cleaning of the models input', () => {
  const y = shopSeries();
  it('leaves an ordinary series alone', () => {
    assert.deepEqual(cleanOutliers(y).hours, []);
  });
  it('keeps a daily pattern moved by an hour (a clock change read in UTC hours): every day departs at the same hours', () => {
    // From week 5 on, the whole day comes an hour earlier: the morning ramp hour departs each day.
    const moved = y.map((v, i) => (i >= 5 * WEEK && i + 1 < y.length ? y[i + 1] : v));
    assert.deepEqual(cleanOutliers(moved).hours, []);
  });
  it('replaces a 10-hour 6× spike by the same hours of the weeks before, and nothing else', () => {
    const spiked = inject(y, 5, (v) => 6 * v);
    const c = cleanOutliers(spiked);
    assert.deepEqual(c.hours, Array.from({ length: 10 }, (_, k) => 5 * WEEK + 80 + k));
    for (const i of c.hours) assert.ok(Math.abs(c.y[i] / y[i] - 1) < 0.15, `hour ${i}: ${c.y[i]} vs ${y[i]} before the spike`);
    for (let i = 0; i < y.length; i++) if (!c.hours.includes(i)) assert.equal(c.y[i], spiked[i]);
  });
  it('replaces a 10-hour outage to zero', () => {
    const c = cleanOutliers(inject(y, 5, () => 0));
    assert.equal(c.hours.length, 10);
    assert.ok(c.hours.every((i) => c.y[i] > 50));
  });
  it('keeps a level shift: the last three days at three times the level', () => {
    const shifted = y.map((v, i) => (i >= y.length - 72 ? 3 * v : v));
    assert.deepEqual(cleanOutliers(shifted).hours, []);
  });
  it(`keeps a departure that lasts longer than ${MAX_BURST_HOURS} hours, or is still going on at the end`, () => {
    const twoDays = y.map((v, i) => (i >= 5 * WEEK + 8 && i < 5 * WEEK + 56 ? 4 * v : v));
    assert.deepEqual(cleanOutliers(twoDays).hours, []);
    const atEnd = y.map((v, i) => (i >= y.length - 6 ? 6 * v : v));
    assert.deepEqual(cleanOutliers(atEnd).hours, []);
  });
  it('looks at nothing after the series it is given: cleaning a prefix cleans only from the prefix', () => {
    const spiked = inject(y, 5, (v) => 6 * v);
    const prefix = spiked.slice(0, 5 * WEEK + 85);
    assert.deepEqual(cleanOutliers(prefix).hours, [], 'a spike still going on at the end of the prefix is kept');
  });
});

describe('an unlabelled spike in the Atlanta flights', () => {
  // Weeks from 15 April to 20 May 2001 (the 6 weeks after the spike's week and the week after it).
  const atl = getRealDataset('us-flights-2001-atl').slice(0, 3505);
  const spiked = atl.map((p, i) => (Math.floor(i / WEEK) === 10 && i % WEEK >= 80 && i % WEEK < 90 ? { ...p, requests: 6 * p.requests } : p));
  it('no longer makes the following weeks worse (about as good as without the spike)', () => {
    const raw = runBacktest(spiked, { heldOutWeeks: 6, selection: { cleanOutliers: false } });
    const cleaned = runBacktest(spiked, { heldOutWeeks: 6 });
    const clean = runBacktest(atl, { heldOutWeeks: 6, selection: { cleanOutliers: false } });
    assert.equal(cleaned.folds[0].testStart, '2001-04-15T01:00:00.000Z');
    // Ratios to seasonal naive (whose forecasts of these weeks the spike does not reach): MASE itself
    // is scaled by the history's seasonal naive error, which the spike inflates.
    assert.ok(cleaned.ratio < raw.ratio - 0.05, `${cleaned.ratio} vs ${raw.ratio} without cleaning`);
    assert.ok(cleaned.ratio < clean.ratio + 0.02, `${cleaned.ratio} vs ${clean.ratio} on the series without the spike`);
    assert.ok(Math.max(...cleaned.folds.map((f) => f.ratio)) < 1.1, 'worst week');
  });
});
