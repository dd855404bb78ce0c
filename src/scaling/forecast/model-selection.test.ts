import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { getRealDataset } from '../test-data/real-datasets.ts';
import { runBacktest } from './backtest.ts';
import { getMae, getMase } from './metrics.ts';
import { forecastMstlEts } from './mstl-ets.ts';
import { MAX_MODEL_WEEKS, MIN_LEVEL_PAIRS, getRecentHistory, SHRINK_TO_SEASONAL_NAIVE, detectRecentShift, forecastWithSelection, getLevelChangeQuantile, getLevelChanges, getQuantile, selectModel } from './model-selection.ts';
import { WEEK, YEAR_WEEKS, forecastMedianYearOverYear, forecastSeasonalNaive, forecastWeekAverage, getYearOverYearRatios } from './seasonal-models.ts';
import { getCandidateModels } from './candidates.ts';
import { getGuerreroLambda } from './transforms.ts';

/** Values printed by R (forecast 8.20) with r-reference.fixture.R. */
const R = JSON.parse(readFileSync(new URL('./r-reference.fixture.json', import.meta.url), 'utf8')) as { taylorGuerreroLambda: number; atlSnaiveTestMase: number; atlSnaiveTestMae: number };

describe('numerical pieces against R', () => {
  it("Guerrero's Box-Cox λ on the Taylor electricity series matches forecast::BoxCox.lambda", () => {
    const y = getRealDataset('taylor-electricity').map((p) => p.requests + 1);
    assert.ok(Math.abs(getGuerreroLambda(y, 168, 0, 1) - R.taylorGuerreroLambda) < 1e-3);
  });
  it('seasonal naive and its MASE on the Atlanta flights match forecast::snaive + accuracy', () => {
    const y = getRealDataset('us-flights-2001-atl').map((p) => p.requests);
    const train = y.slice(0, -WEEK);
    const test = y.slice(-WEEK);
    const f = forecastSeasonalNaive(train, WEEK, WEEK);
    assert.ok(Math.abs(getMae(test, f) - R.atlSnaiveTestMae) < 1e-6);
    assert.ok(Math.abs(getMase(test, f, train, WEEK) - R.atlSnaiveTestMase) < 1e-6);
  });
});

describe('MSTL + ETS (augurs) against R', () => {
  it("forecasts Taylor's last six weeks (log) as R's forecast(mstl(x), method = 'ets') does, within 0.1 %", () => {
    const ref = JSON.parse(readFileSync(new URL('./r-mstl-ets.fixture.json', import.meta.url), 'utf8')) as { mean: number[] };
    const z = getRealDataset('taylor-electricity').map((p) => Math.log1p(p.requests));
    const f = forecastMstlEts(z, 48);
    assert.ok(f);
    for (const [i, v] of f.entries()) assert.ok(Math.abs(Math.expm1(v) / Math.expm1(ref.mean[i]) - 1) < 1e-3, `hour ${i}: ${v} vs R ${ref.mean[i]}`);
  });
});

describe('week averages', () => {
  const z = [...Array(WEEK).fill(1), ...Array(WEEK).fill(2), ...Array(WEEK).fill(6)];
  it('averages the same hour of the last k weeks (mean, median)', () => {
    assert.equal(forecastWeekAverage(z, 2, { kind: 'mean', weeks: 3 })?.[0], 3);
    assert.equal(forecastWeekAverage(z, 2, { kind: 'median', weeks: 3 })?.[0], 2);
    assert.equal(forecastWeekAverage(z, 2, { kind: 'mean', weeks: 2 })?.[1], 4);
  });
  it("shifts to last week's level when asked", () => {
    assert.equal(forecastWeekAverage(z, 1, { kind: 'mean', weeks: 3, levelAdjust: true })?.[0], 6);
  });
  it("scales each week to the last week's level (quiet hours stay quiet), and continues a steady growth through the first week only", () => {
    // A fixed weekly shape (zero at night) growing 2 % a week, hour by hour.
    const shape = (p: number) => (p % 24 < 6 ? 0 : 100 + 10 * (p % 24) + 50 * Math.floor(p / 24));
    const level = (t: number) => 1.02 ** (t / WEEK);
    const y = Array.from({ length: 6 * WEEK }, (_, t) => shape(t % WEEK) * level(t));
    const truth = Array.from({ length: 2 * WEEK }, (_, i) => shape(i % WEEK) * level(6 * WEEK + i));
    const plain = forecastWeekAverage(y, WEEK, { kind: 'median', weeks: 5 }) as number[];
    const scaled = forecastWeekAverage(y, WEEK, { kind: 'median', weeks: 5, scaleToLastWeek: true }) as number[];
    const growth = forecastWeekAverage(y, 2 * WEEK, { kind: 'median', weeks: 5, scaleToLastWeek: true, growthWeeks: 3 }) as number[];
    const worst = (f: number[]) => Math.max(...truth.slice(0, WEEK).map((v, i) => (v === 0 ? Math.abs(f[i]) : Math.abs(f[i] / v - 1))));
    assert.equal(scaled[0], 0);
    assert.ok(worst(plain) > 0.055, `median of 5 weeks lags about 3 weeks of growth: ${worst(plain)}`);
    assert.ok(worst(scaled) < 0.025 && worst(scaled) > 0.015, `scaled to last week: one week behind, ${worst(scaled)}`);
    assert.ok(worst(growth) < 1e-9, `growth continued: ${worst(growth)}`);
    // Past the first week the level holds where it got to.
    assert.ok(Math.abs(growth[WEEK + 30] / growth[30] - 1) < 0.0002);
  });
});

describe("last year's change of the weekly level (median-5w-yoy)", () => {
  // A daily shape with quiet nights; every week at level 1 except the one that started 52 weeks before the
  // week ahead (1.5 ×): last year the level rose by half from "this week" to "next week".
  const shape = (t: number) => (t % 24 < 5 ? 0 : 10 + (t % 24));
  const weeks = 60;
  const risen = weeks - YEAR_WEEKS;
  const y = Array.from({ length: weeks * WEEK }, (_, t) => shape(t) * (Math.floor(t / WEEK) === risen ? 1.5 : 1));
  it('is undefined with less than a year and a week of history, so a shorter series keeps the same candidates', () => {
    const short = y.slice(-((YEAR_WEEKS + 1) * WEEK - 1));
    assert.equal(getYearOverYearRatios(short, 1), undefined);
    assert.equal(forecastMedianYearOverYear(short, WEEK), undefined);
    const spec = getCandidateModels().find((m) => m.model === 'median-5w-yoy');
    assert.ok(spec);
    assert.equal(spec.forecaster(short, WEEK), undefined);
    assert.ok(spec.forecaster(y.slice(-(YEAR_WEEKS + 1) * WEEK), WEEK));
    // In the cross-validation it has no score and cannot be chosen (26 weeks: all its folds too short).
    const selection = selectModel(y.slice(-26 * WEEK));
    const scored = selection.candidates.find((c) => c.model === 'median-5w-yoy');
    assert.equal(scored?.mase, undefined);
    assert.equal(scored?.eligible, false);
  });
  it("multiplies the scaled 5-week median by last year's ratio, week by week ahead; damped on request (the candidate: √ of the ratio)", () => {
    assert.deepEqual(getYearOverYearRatios(y, 2), [1.5, 1]);
    const scaled = forecastWeekAverage(y, 2 * WEEK, { kind: 'median', weeks: 5, scaleToLastWeek: true }) as number[];
    const f = forecastMedianYearOverYear(y, 2 * WEEK) as number[];
    for (const i of [0, 7, 30, WEEK - 1]) assert.ok(Math.abs(f[i] - 1.5 * scaled[i]) < 1e-9, `hour ${i}`);
    for (const i of [WEEK, WEEK + 30]) assert.ok(Math.abs(f[i] - scaled[i]) < 1e-9, `hour ${i}`);
    assert.equal(f[2], 0);
    assert.equal(f[12], 1.5 * 22);
    assert.ok(Math.abs((forecastMedianYearOverYear(y, 13, { exponent: 0.5 }) as number[])[12] - Math.sqrt(1.5) * 22) < 1e-9);
    const spec = getCandidateModels().find((m) => m.model === 'median-5w-yoy');
    assert.ok(spec);
    assert.ok(Math.abs((spec.forecaster(y, 13) as number[])[12] - Math.sqrt(1.5) * 22) < 1e-9);
    // Clamped to [1/2, 2]: a week closed last year does not forecast a closed week, nor a near-empty base week a spike.
    const closedLastYear = y.map((v, i) => (i >= y.length - YEAR_WEEKS * WEEK && i < y.length - (YEAR_WEEKS - 1) * WEEK ? 0 : v));
    assert.deepEqual(getYearOverYearRatios(closedLastYear, 1), [0]);
    const clamped = forecastMedianYearOverYear(closedLastYear, WEEK) as number[];
    const base = forecastWeekAverage(closedLastYear, WEEK, { kind: 'median', weeks: 5, scaleToLastWeek: true }) as number[];
    assert.ok(Math.abs(clamped[12] - 0.5 * base[12]) < 1e-9);
  });
});

describe('a new pattern in the last week', () => {
  // Five weeks of one daily shape, then a week whose every day has another (a new timetable).
  const day = (peak: number) => Array.from({ length: 24 }, (_, h) => 100 + (h === peak ? 400 : 0) + (h % 5));
  const week = (peak: number) => Array.from({ length: 7 }, () => day(peak)).flat();
  const noisy = (w: number[], k: number) => w.map((v, i) => v + ((i * 7 + k * 13) % 11));
  const old = [0, 1, 2, 3, 4].flatMap((k) => noisy(week(9), k));
  it('is detected when most days of the last week depart from the weeks before, and seasonal naive is the forecast', () => {
    const y = [...old, ...noisy(week(15), 5)];
    const shift = detectRecentShift(y);
    assert.ok(shift.shifted, JSON.stringify(shift));
    assert.equal(shift.days, 7);
    const selection = selectModel(y);
    assert.deepEqual(selection.chosen.members.map((m) => m.name), ['snaive/none']);
    assert.match(selection.chosen.name, /departs from the weeks before on 7 of 7 days/);
  });
  it('is not detected for one different day (a holiday)', () => {
    const last = noisy(week(9), 5);
    for (let h = 0; h < 24; h++) last[48 + h] = 20;
    assert.equal(detectRecentShift([...old, ...last]).shifted, false);
  });
});

describe('empirical quantile', () => {
  it('interpolates as R type 7', () => {
    assert.equal(getQuantile([1, 2, 3, 4, 5], 0.9), 4.6);
  });
});

describe('how far the level moves over weeks', () => {
  // Six weeks whose mean is 9, 19, 29, 39, 49, 59 (log1p of the weekly mean: ln 10 … ln 60).
  const y = [9, 19, 29, 39, 49, 59].flatMap((v) => new Array<number>(WEEK).fill(v));
  it('measures the change of log(1 + weekly mean) between weeks 1, 2, … apart while there are enough pairs', () => {
    const byLag = getLevelChanges(y);
    assert.equal(byLag.length, 6 - MIN_LEVEL_PAIRS);
    assert.deepEqual(byLag[0].map((v) => +v.toFixed(6)), [Math.log(60 / 50), Math.log(50 / 40), Math.log(40 / 30), Math.log(30 / 20), Math.log(20 / 10)].map((v) => +v.toFixed(6)).sort((a, b) => a - b));
    assert.equal(byLag[1].length, 4);
    assert.ok(Math.abs(byLag[1][3] - Math.log(30 / 10)) < 1e-12);
  });
  it("widens with the weeks ahead: the history's own lags, then √lag beyond them", () => {
    const byLag = getLevelChanges(y);
    const q = (week: number) => getLevelChangeQuantile(byLag, week, 1);
    assert.ok(Math.abs(q(0) - Math.log(2)) < 1e-12);
    assert.ok(Math.abs(q(1) - Math.log(3)) < 1e-12);
    assert.ok(Math.abs(q(7) - Math.log(3) * Math.sqrt(8 / 2)) < 1e-12);
  });
  it('gives the forecast a band that is never narrower past the first week, and wider a season ahead', () => {
    // England and Wales' summer demand: its weekly level moved by up to 6 % (the August holidays).
    const real = getRealDataset('taylor-electricity').map((p) => p.requests);
    const selection = selectModel(real);
    const f = forecastWithSelection(real, selection, 30 * WEEK, [0.9]);
    const q90 = f.quantiles.get(0.9) as number[];
    const width = (i: number) => Math.log1p(q90[i]) - Math.log1p(f.mean[i]);
    // Past the first week the band never narrows, and is at least the first week's last day's.
    for (let i = 6 * 24; i < 30 * WEEK - WEEK; i += 24) assert.ok(width(i + WEEK) >= width(i) - 1e-9, `hour ${i}`);
    assert.ok(width(29 * WEEK + 12) > width(6 * 24 + 12), 'wider 29 weeks ahead than on the last day of the first week');
  });
});

describe('model choice by cross-validation', () => {
  const y = getRealDataset('us-flights-2001').map((p) => p.requests);
  const selection = selectModel(y.slice(0, -WEEK));
  it('never chooses a model that loses to seasonal naive in validation', () => {
    assert.ok(selection.chosen.meanMase <= selection.seasonalNaive.meanMase);
    for (const c of selection.candidates.filter((c) => c.eligible)) assert.ok(c.meanMase < selection.seasonalNaive.meanMase);
    for (const m of selection.chosen.members.filter((m) => m.name !== 'snaive/none')) assert.ok(selection.candidates.find((c) => c.name === m.name)?.eligible, m.name);
  });
  it('combines three distinct models with weights from their validation MASE, shrunk toward seasonal naive', () => {
    const sn = selection.chosen.members.find((m) => m.name === 'snaive/none');
    assert.equal(sn?.weight, SHRINK_TO_SEASONAL_NAIVE);
    const members = selection.chosen.members.filter((m) => m !== sn);
    assert.equal(members.length, 3);
    assert.equal(new Set(members.map((m) => m.name.split('/')[0])).size, 3);
    assert.ok(Math.abs(members.reduce((a, m) => a + m.weight, 0) - (1 - SHRINK_TO_SEASONAL_NAIVE)) < 1e-9);
    const mase = members.map((m) => selection.candidates.find((c) => c.name === m.name)?.meanMase as number);
    for (let i = 1; i < 3; i++) assert.ok(mase[i] >= mase[i - 1] && members[i].weight <= members[i - 1].weight);
  });
  it('gives ordered, non-negative quantiles around the mean', () => {
    const f = forecastWithSelection(y.slice(0, -WEEK), selection, WEEK, [0.5, 0.9]);
    const q50 = f.quantiles.get(0.5) as number[];
    const q90 = f.quantiles.get(0.9) as number[];
    assert.equal(f.mean.length, WEEK);
    assert.ok(q90.every((v, i) => v >= q50[i] && v >= 0));
  });
});

describe('short histories', () => {
  for (const weeks of [3, 4, 5]) {
    it(`${weeks} weeks: finite validation MASE (every fold trains on two weeks or more) and a finite band`, () => {
      const y = getRealDataset('taylor-electricity').slice(0, weeks * WEEK).map((p) => p.requests);
      const selection = selectModel(y);
      assert.equal(selection.foldStarts.length, weeks - 2);
      assert.ok(selection.foldStarts.every((s) => s >= 2 * WEEK));
      assert.ok(Number.isFinite(selection.chosen.meanMase) && Number.isFinite(selection.seasonalNaive.meanMase));
      const f = forecastWithSelection(y, selection, WEEK, [0.9]);
      const q90 = f.quantiles.get(0.9) as number[];
      for (const [i, v] of f.mean.entries()) assert.ok(q90[i] >= v && q90[i] < 1.5 * v, `hour ${i}: mean ${v}, q0.9 ${q90[i]}`);
    });
  }
});

describe('backtest on committed real series', () => {
  for (const name of ['us-flights-2001', 'us-flights-2001-atl', 'us-flights-2001-elp', 'taylor-electricity'] as const) {
    it(`the chosen model beats seasonal naive over 4 held-out weeks of ${name}, and q0.9 covers 85–95 %`, () => {
      const r = runBacktest(getRealDataset(name), { heldOutWeeks: 4 });
      assert.equal(r.folds.length, 4);
      assert.ok(r.beatsSeasonalNaive && r.ratio !== null && r.ratio < 1, `ratio ${r.ratio}`);
      assert.ok(r.coverage >= 0.85 && r.coverage <= 0.95, `coverage ${r.coverage}`);
      for (const f of r.folds) assert.ok(Object.keys(f.candidates).includes('snaive/none'));
    });
  }
});

describe('the models see at most the last two years', () => {
  it('keeps the last MAX_MODEL_WEEKS weeks of the series and its mask, and moves the holiday calendar with them', () => {
    const n = (MAX_MODEL_WEEKS + 3) * WEEK;
    const y = Array.from({ length: n }, (_, i) => i);
    const unobserved = y.map((i) => i === n - 1);
    const start = Date.parse('2020-01-06T00:00:00Z');
    const calendar = { startMs: start, isHoliday: (t: number) => t === start + (n - 5) * 3_600_000 };
    const recent = getRecentHistory(y, unobserved, calendar);
    assert.equal(recent.y.length, MAX_MODEL_WEEKS * WEEK);
    assert.equal(recent.y[0], 3 * WEEK);
    assert.equal(recent.unobserved.at(-1), true);
    // The same hour is the holiday, counted from the new first hour.
    assert.ok(recent.calendar?.isHoliday((recent.calendar?.startMs ?? 0) + (recent.y.length - 5) * 3_600_000));
    assert.equal(recent.calendar?.startMs, start + 3 * WEEK * 3_600_000);
    // A shorter history is kept whole.
    assert.equal(getRecentHistory(y.slice(0, 10 * WEEK), unobserved.slice(0, 10 * WEEK), undefined).y.length, 10 * WEEK);
  });
});
