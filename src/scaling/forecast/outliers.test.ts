import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getRealDataset } from '../test-data/real-datasets.ts';
import { runBacktest } from './backtest.ts';
import { learnBase } from '../cli-inputs.ts';
import { selectModel } from './model-selection.ts';
import { MAX_BURST_HOURS, cleanOutliers, fillZeroGaps, markHours } from './outliers.ts';
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
    assert.ok(cleaned.ratio !== null && raw.ratio !== null && clean.ratio !== null);
    assert.ok(cleaned.ratio < raw.ratio - 0.05, `${cleaned.ratio} vs ${raw.ratio} without cleaning`);
    assert.ok(cleaned.ratio < clean.ratio + 0.02, `${cleaned.ratio} vs ${clean.ratio} on the series without the spike`);
    assert.ok(cleaned.folds.every((f) => f.ratio !== null && f.ratio < 1.1), 'worst week');
  });
});

describe('data gaps: runs of zeros where the weeks before expect demand', () => {
  const y = shopSeries(8);
  const zeroed = (from: number, to: number) => y.map((v, i) => (i >= from && i < to ? 0 : v));
  it('fills a week of zeros (an analytics outage) with the same hours of the weeks before, and nothing else', () => {
    const gap = zeroed(3 * WEEK, 4 * WEEK);
    const f = fillZeroGaps(gap);
    assert.deepEqual(f.hours, Array.from({ length: WEEK }, (_, k) => 3 * WEEK + k));
    for (const i of f.hours) assert.ok(Math.abs(f.y[i] - y[i]) <= 0.15 * y[i] + 1, `hour ${i}: ${f.y[i]} vs ${y[i]}`);
    for (let i = 0; i < y.length; i++) if (!f.hours.includes(i)) assert.equal(f.y[i], gap[i]);
  });
  it('fills a run longer than a week, and one still going on at the end, from the demand before it', () => {
    const f = fillZeroGaps(zeroed(5 * WEEK, 8 * WEEK));
    assert.equal(f.hours.length, 3 * WEEK);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(Math.abs(mean(f.y.slice(7 * WEEK)) / mean(y.slice(7 * WEEK)) - 1) < 0.05);
  });
  it('leaves zeros that the weeks before make plausible: quiet nights, and a short run of a sparse series', () => {
    // Nights expect 5 an hour: two hours at zero expect 10, under MIN_ZERO_RUN_EXPECTED.
    assert.deepEqual(fillZeroGaps(zeroed(3 * WEEK + 1, 3 * WEEK + 3)).hours, []);
    // A single hour at zero is never a gap (a burst, if anything: cleanOutliers' business).
    assert.deepEqual(fillZeroGaps(zeroed(3 * WEEK + 12, 3 * WEEK + 13)).hours, []);
    // El Paso's departures: 2.5 an hour, a quarter of its hours at zero.
    const elp = getRealDataset('us-flights-2001-elp').map((p) => p.requests);
    assert.ok(elp.filter((v) => v === 0).length > elp.length / 5);
    assert.deepEqual(fillZeroGaps(elp).hours, []);
  });
  it('leaves a closure that recurs every week (the shop\'s new pattern), from its first occurrence on', () => {
    // Closed on Sundays 08:00–20:00 from week 3 on: every closed Sunday has another a week before or after it.
    const closed = y.map((v, i) => (i >= 3 * WEEK && i % WEEK >= 6 * 24 + 8 && i % WEEK < 6 * 24 + 20 ? 0 : v));
    assert.deepEqual(fillZeroGaps(closed).hours, []);
    // Once only (a holiday, an outage): filled.
    const once = y.map((v, i) => (i >= 3 * WEEK && i < 4 * WEEK && i % WEEK >= 6 * 24 + 8 && i % WEEK < 6 * 24 + 20 ? 0 : v));
    assert.equal(fillZeroGaps(once).hours.length, 12);
  });
  it('leaves filled hours out of the validation scores: a filled week is no free perfect fold for the median models', () => {
    const f = fillZeroGaps(zeroed(5 * WEEK, 6 * WEEK));
    const mask = markHours(f.y.length, f.hours).map((v) => v > 0);
    const median = (selection: ReturnType<typeof selectModel>) => selection.candidates.find((c) => c.name === 'median-5w/none')?.mase ?? [];
    // Folds are the last 6 weeks, 2–7: week 5 is fold 3.
    assert.ok(median(selectModel(f.y))[3] < 0.05, 'scored against its own fill, the 5-week median is all but perfect');
    assert.ok(Number.isNaN(median(selectModel(f.y, { unobserved: mask }))[3]));
    assert.ok(Number.isFinite(selectModel(f.y, { unobserved: mask }).chosen.meanMase));
  });
  it('keeps the quantile band of a forecast whose history has a week of zeros near the mean forecast (the CLI path)', () => {
    const start = Date.parse('2026-01-05T00:00:00Z');
    const history = zeroed(3 * WEEK, 4 * WEEK).map((requests, i) => ({ hour: new Date(start + i * 3_600_000), requests }));
    const learned = learnBase(history, new Date(start + 9 * WEEK * 3_600_000), 0.9);
    const future = [...learned.mean.keys()].filter((t) => t >= start + 8 * WEEK * 3_600_000);
    const meanMax = Math.max(...future.map((t) => learned.mean.get(t) as number));
    const quantileMax = Math.max(...future.map((t) => learned.quantile.get(t) as number));
    // Without the filling, q0.9 reached 270 × the mean forecast (the week's fall and rise as a level change).
    assert.ok(quantileMax < 1.5 * meanMax, `q0.9 ${quantileMax} vs mean ${meanMax}`);
    assert.match(learned.description, /168 hour\(s\) at zero .* gap in the data/);
  });
});
