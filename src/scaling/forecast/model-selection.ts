/**
 * Model choice by time-series cross-validation (FPP3 §5.10, rolling forecasting origin): the last
 * K weeks of the history are forecast one at a time, 168 h ahead, each from the data before it only.
 * Every candidate is scored by MASE (scale: in-sample seasonal naive MAE, m = 168) on each fold, and
 * by the recency-weighted mean of those (weight 0.8 per week back: a pattern changes over weeks).
 *
 * The forecast is a combination (FPP3 §13.4): the three best distinct models by mean validation
 * MASE, among those that beat seasonal naive there, weighted ∝ 1 / MASE², with seasonal naive
 * itself at a fixed 10 % (shrinkage toward the benchmark). It is used when the
 * combination itself beats seasonal naive in validation; otherwise seasonal naive is the forecast.
 * When the last week departs from the weeks before on most of its days (a new timetable, a level
 * shift: `detectRecentShift`), seasonal naive is the forecast too, because every other model still
 * forecasts the old pattern and validation has not seen the change. A short level correction (the
 * mean log error over the last 3 or 24 hours before the origin, decaying by φ per hour, an AR(1) on
 * the residual) is kept when it lowers the validation MASE. Prediction quantiles are empirical
 * quantiles of the validation errors on the log(1 + y) scale, each relative to the volatility
 * before its fold and scaled by today's, by day of horizon (at least the whole week's quantile and
 * the same quantile of the history's week-to-week level changes; past the first week, at least that
 * of its level changes over as many weeks). The candidates are fitted on the history with its short
 * bursts (an unlabelled flash sale, an outage) replaced by the weeks before (`cleanOutliers`); the
 * validation weeks they are scored on stay raw.
 */
import { ScalingInputError } from '../errors.ts';
import type { CandidateModel } from './candidates.ts';
import { SEASONAL_NAIVE, getCandidateModels } from './candidates.ts';
import { getMae, getSeasonalNaiveScale, getSmape } from './metrics.ts';
import { WEEK } from './seasonal-models.ts';
import type { TransformName } from './transforms.ts';
import { createTransform } from './transforms.ts';
import type { SeriesCalendar } from './holidays.ts';
import { applyHolidayEffect, learnHolidayEffect, mapCalendarHours } from './holidays.ts';
import { cleanOutliers } from './outliers.ts';

/** Options of the cross-validation. */
export interface SelectionOptions {
  /** Validation weeks (rolling origins); fewer if the history is short. @defaultValue 6 */
  folds: number;
  /** Most candidates in a combination. @defaultValue 3 */
  combine: number;
  /** A candidate (or combination) may not exceed this × seasonal naive's MASE on any fold. @defaultValue 1.1 */
  maxFoldRatio: number;
  /** Holidays (`--country`): their learned effect is applied when it does not hurt in validation. */
  calendar?: SeriesCalendar;
  /** Limit the candidate models (ids as in `getCandidateModels`). */
  models?: readonly string[];
  /** Fits the candidates (default `forecastCandidates`); an evaluation harness may serve them from a cache. */
  fitCandidates?: typeof forecastCandidates;
  /** Replace short bursts in the models' input by the weeks before (`cleanOutliers`); false: fit the raw history. @defaultValue true */
  cleanOutliers?: boolean;
  /**
   * Hours of the series that were filled, not observed (`fillZeroGaps`): left out of the validation
   * scores and of the errors behind the quantiles (a week filled with the 5-week median scores the median
   * models perfectly, and would choose them and narrow the band).
   */
  unobserved?: readonly boolean[];
}

/**
 * The most history the models are fitted on (two years): what they weigh fades within weeks, and the
 * fitting time grows with the length (the whole forecast command: 1.4 s on 26 weeks, 2.6 s on 5 years).
 */
export const MAX_MODEL_WEEKS = 104;

/**
 * The last MAX_MODEL_WEEKS weeks of a series and of its mask of unobserved hours, the holiday calendar
 * moved to the new first hour.
 */
export function getRecentHistory(y: readonly number[], unobserved: readonly boolean[], calendar: SeriesCalendar | undefined): { y: number[]; unobserved: boolean[]; calendar: SeriesCalendar | undefined } {
  const dropped = Math.max(0, y.length - MAX_MODEL_WEEKS * WEEK);
  return { y: y.slice(dropped), unobserved: unobserved.slice(dropped), calendar: calendar && (dropped > 0 ? mapCalendarHours(calendar, (i) => i + dropped) : calendar) };
}

export const DEFAULT_SELECTION: SelectionOptions = { folds: 6, combine: 3, maxFoldRatio: 1.1 };

/** One candidate's validation record. */
export interface CandidateScore {
  /** `model/transform`, e.g. `median-5w/log1p`. */
  name: string;
  model: string;
  family: CandidateModel['family'];
  transform: TransformName;
  /** MASE per fold (undefined: too little history for the model). */
  mase: number[] | undefined;
  smape: number[] | undefined;
  /** Recency-weighted mean of `mase` (`recencyMean`). */
  meanMase: number;
  eligible: boolean;
}

export interface ChosenModel {
  /** Readable description, e.g. `combination of median-5w/log1p (0.41), …`. */
  name: string;
  members: { name: string; weight: number }[];
  /** Level correction: mean log error over the last `hours` before the origin, decaying by φ per hour; null when it did not help. */
  correction: { phi: number; hours: number } | null;
  /** Holiday effect by hour of day (log scale) learned from the whole history; null when not used. */
  holidayEffect: number[] | null;
  mase: number[];
  /** Recency-weighted mean of `mase` (`recencyMean`). */
  meanMase: number;
}

export interface ModelSelection {
  /** Hour index of each fold's first hour (fold = the 168 h from there). */
  foldStarts: number[];
  candidates: CandidateScore[];
  seasonalNaive: { mase: number[]; meanMase: number };
  chosen: ChosenModel;
  /** The last week's departure from the weeks before (see `detectRecentShift`). */
  shift: RecentShift;
  /** Sorted validation errors log1p(actual) − log1p(forecast), each ÷ its fold's volatility scale, by day of horizon (7 buckets). */
  errorsByDay: number[][];
  /** The volatility scale at the end of the history: quantile offsets are errorsByDay quantiles × this. */
  errorScale: number;
  /**
   * Sorted |change| of the weekly level, log(1 + weekly mean), between weeks `lag` apart, for lag = 1, 2, …
   * (index lag − 1), as far as the history has at least MIN_LEVEL_PAIRS such pairs.
   */
  levelChanges: number[][];
  /** The chosen combination's (uncorrected) forecast of the last fold, which ends where the history ends. */
  lastFoldForecast: number[];
}

/** Minimum history for any weekly model (seasonal naive needs one week to train, two to validate). */
export const MIN_HISTORY_WEEKS = 3;

// Short decays only: the correction is for the first hours (φ = 0.7: 3 % of it is left after 10 h). Slower ones
// (φ up to 0.995) passed validation as often but made the worst held-out week of the real series worse.
const CORRECTION_PHIS = [0.5, 0.7];

/** Weight of seasonal naive in every combination. */
export const SHRINK_TO_SEASONAL_NAIVE = 0.1;
const CORRECTION_WINDOWS = [3, 24];

interface Fitted {
  spec: CandidateModel;
  transform: TransformName;
  /** Forecast per fold, original scale. */
  forecasts: (number[] | undefined)[];
}

export function requireWeeklyHistory(n: number): void {
  if (n < MIN_HISTORY_WEEKS * WEEK) {
    throw new ScalingInputError('INSUFFICIENT_HISTORY', `a weekly model needs at least ${MIN_HISTORY_WEEKS} weeks (${MIN_HISTORY_WEEKS * WEEK} hours) of history; got ${n} hours (${(n / WEEK).toFixed(1)} weeks)`);
  }
}

function getModels(o: SelectionOptions): CandidateModel[] {
  const all = getCandidateModels();
  if (!o.models) return all;
  const unknown = o.models.filter((m) => !all.some((c) => c.model === m));
  if (unknown.length > 0) throw new ScalingInputError('INVALID_OPTION', `unknown model(s) ${unknown.join(', ')} (known: ${all.map((c) => c.model).join(', ')})`);
  return all.filter((c) => c.model === SEASONAL_NAIVE || o.models?.includes(c.model));
}

/**
 * What the candidates are fitted on: the history with its short bursts replaced (`cleanOutliers`),
 * seasonal naive included. An unlabelled flash sale or outage otherwise stays in the week averages and
 * smoothers for weeks, and in the validation folds that choose among them (a 10-hour 6× spike in the
 * Atlanta flights made the 6 weeks after it 4–19 % worse, 0–2 % with this); level shifts are not bursts and stay.
 */
function getModelInput(train: readonly number[], o: Partial<SelectionOptions>): readonly number[] {
  return o.cleanOutliers === false ? train : cleanOutliers(train).y;
}

/** Fits every candidate on `train` and forecasts `h` hours (original scale). */
export function forecastCandidates(train: readonly number[], h: number, models: readonly CandidateModel[]): { spec: CandidateModel; transform: TransformName; forecast: number[] | undefined }[] {
  const out: { spec: CandidateModel; transform: TransformName; forecast: number[] | undefined }[] = [];
  const cache = new Map<TransformName, { z: number[]; inverse: (v: number) => number } | TransformName>();
  for (const spec of models) {
    const own = new Map<TransformName, number[] | undefined>();
    for (const t of spec.transforms) {
      let tz = cache.get(t);
      if (tz === undefined) {
        const tr = createTransform(t, train);
        // Box-Cox with λ ≈ 0 or 1 is log1p or none again: not fitted twice, that forecast is reused.
        tz = tr.lambda !== undefined && (tr.lambda < 0.05 || tr.lambda > 0.95) ? (tr.lambda < 0.05 ? 'log1p' : 'none') : { z: train.map(tr.forward), inverse: tr.inverse };
        cache.set(t, tz);
      }
      if (typeof tz === 'string') {
        const same = own.has(tz) ? own.get(tz) : forecastCandidates(train, h, [{ ...spec, transforms: [tz] }])[0].forecast;
        out.push({ spec, transform: t, forecast: same });
        continue;
      }
      const zf = spec.forecaster(tz.z, h);
      const inverse = tz.inverse;
      const forecast = zf?.map(inverse);
      own.set(t, forecast);
      out.push({ spec, transform: t, forecast });
    }
  }
  return out;
}

/** Weight of a validation week relative to the week after it (recent weeks count more). */
export const FOLD_RECENCY = 0.8;

/**
 * Recency-weighted mean of per-fold values (oldest first): weight FOLD_RECENCY^(weeks back). A NaN (a
 * fold with no observed hour to score) is left out.
 */
export function recencyMean(values: readonly number[]): number {
  let s = 0;
  let w = 0;
  for (let k = 0; k < values.length; k++) {
    if (Number.isNaN(values[k])) continue;
    const weight = FOLD_RECENCY ** (values.length - 1 - k);
    s += weight * values[k];
    w += weight;
  }
  return s / w;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function combine(members: { forecast: readonly number[]; weight: number }[]): number[] {
  const h = members[0].forecast.length;
  return Array.from({ length: h }, (_, i) => members.reduce((s, m) => s + m.weight * m.forecast[i], 0));
}

/** Applies the level correction: log1p(f) + r·φ^(i+1). */
export function applyCorrection(forecast: readonly number[], residual: number, phi: number): number[] {
  let f = 1;
  return forecast.map((v) => {
    f *= phi;
    return Math.max(0, Math.expm1(Math.log1p(v) + residual * f));
  });
}

/** Mean log error of `forecast` (made for the hours ending at `end`) over its last hours. */
export function getEndResidual(y: readonly number[], end: number, forecast: readonly number[], hours: number): number {
  let s = 0;
  for (let j = 1; j <= hours; j++) s += Math.log1p(y[end - j]) - Math.log1p(forecast[forecast.length - j]);
  return s / hours;
}

/** Empirical quantile (R type 7) of sorted values. */
export function getQuantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** How far the last week lies from the weeks before it, by day. */
export interface RecentShift {
  /** Days of the last week whose mean absolute departure exceeds 2 × the typical day's. */
  days: number;
  /** The last week's mean departure ÷ the typical day's. */
  ratio: number;
  /** At least 5 of 7 days, among them the last two, and the week as a whole at least 2 × the typical departure. */
  shifted: boolean;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Mean absolute departure of each day of the week starting at `t` from the median of the same hours of the 4 weeks before. */
function getDayDepartures(y: readonly number[], t: number): number[] {
  const days: number[] = [];
  const column: number[] = [];
  for (let d = 0; d < 7; d++) {
    let s = 0;
    for (let h = 0; h < 24; h++) {
      const i = t + d * 24 + h;
      column.length = 0;
      for (let j = 1; j <= 4 && i - j * WEEK >= 0; j++) column.push(y[i - j * WEEK]);
      s += Math.abs(y[i] - median(column));
    }
    days.push(s / 24);
  }
  return days;
}

/**
 * Detects a change of pattern in the last week of `y` (a new timetable, a level shift): its days'
 * departures from the median of the 4 weeks before, against the typical (median) day's departure
 * over the earlier weeks. A holiday moves one or two days; a new pattern moves most of them and is
 * still there on the last two days (a dip that has ended by then is not a new pattern: the weeks
 * before forecast the next week better, as on the electricity series' early-August week).
 */
export function detectRecentShift(y: readonly number[]): RecentShift {
  const n = y.length;
  if (n < 5 * WEEK) return { days: 0, ratio: 0, shifted: false };
  const last = getDayDepartures(y, n - WEEK);
  const earlier: number[] = [];
  for (let t = n - 2 * WEEK; t >= 2 * WEEK; t -= WEEK) earlier.push(...getDayDepartures(y, t));
  if (earlier.length === 0) return { days: 0, ratio: 0, shifted: false };
  const typical = Math.max(median(earlier), 1e-9);
  const days = last.filter((d) => d > 2 * typical).length;
  const ratio = mean(last) / typical;
  const lastDaysToo = last[5] > 2 * typical && last[6] > 2 * typical;
  return { days, ratio, shifted: days >= 5 && ratio >= 2 && lastDaysToo };
}

/** Mean |log(1 + y[t]) − log(1 + y[t − 168])| over the week before `end` (the volatility the errors are scaled by). */
export function getVolatility(y: readonly number[], end: number): number {
  let s = 0;
  let n = 0;
  for (let t = Math.max(WEEK, end - WEEK); t < end; t++) {
    s += Math.abs(Math.log1p(y[t]) - Math.log1p(y[t - WEEK]));
    n++;
  }
  return Math.max(n > 0 ? s / n : 0, 1e-6);
}

/** Fewest pairs of weeks a lag's level changes are taken from. */
export const MIN_LEVEL_PAIRS = 4;

/**
 * Sizes of the changes of the weekly level, log(1 + weekly mean), between weeks 1, 2, … apart (whole
 * weeks counted back from the end), each lag's sorted; lags with fewer than MIN_LEVEL_PAIRS pairs are
 * left out. The log of the mean, not the mean of the logs: a day of zeros (a closed day) lowers the
 * mean of the logs by a seventh of the log itself, as if the week's demand had fallen to a third (at
 * about 1,000 an hour); it lowers the log of the mean by log(7/6).
 */
export function getLevelChanges(y: readonly number[]): number[][] {
  const means: number[] = [];
  for (let end = y.length; end - WEEK >= 0; end -= WEEK) {
    let s = 0;
    for (let t = end - WEEK; t < end; t++) s += y[t];
    means.push(Math.log1p(s / WEEK));
  }
  const byLag: number[][] = [];
  for (let lag = 1; means.length - lag >= MIN_LEVEL_PAIRS || (lag === 1 && means.length > 1); lag++) {
    byLag.push(means.slice(0, -lag).map((m, i) => Math.abs(m - means[i + lag])).sort((a, b) => a - b));
  }
  return byLag;
}

/**
 * How far the level can move by `week` weeks ahead (0: the first week) at quantile `q`: that
 * quantile of the history's level changes `week + 1` weeks apart, never less than at a shorter lag;
 * beyond the lags the history has, the longest one's, growing as √lag (a random walk: the
 * history cannot tell how far a level wanders further out).
 */
export function getLevelChangeQuantile(levelChanges: readonly number[][], week: number, q: number): number {
  const lag = week + 1;
  let best = 0;
  for (let l = 1; l <= Math.min(lag, levelChanges.length); l++) best = Math.max(best, getQuantile(levelChanges[l - 1], q));
  const K = levelChanges.length;
  return lag > K && K > 0 ? best * Math.sqrt(lag / K) : best;
}

/** Runs the cross-validation and chooses the model. Pure; deterministic. */
export function selectModel(y: readonly number[], options: Partial<SelectionOptions> = {}): ModelSelection {
  const o = { ...DEFAULT_SELECTION, ...options };
  requireWeeklyHistory(y.length);
  const models = getModels(o);
  const weeks = Math.floor(y.length / WEEK);
  // Each fold trains on at least two weeks: with one, the MASE scale (in-sample seasonal naive) is undefined.
  const K = Math.max(1, Math.min(o.folds, weeks - 2));
  const foldStarts = Array.from({ length: K }, (_, k) => y.length - (K - k) * WEEK);
  const actual = foldStarts.map((s) => y.slice(s, s + WEEK));
  const scales = foldStarts.map((s) => Math.max(getSeasonalNaiveScale(y.slice(0, s), WEEK), 1e-9));
  const fitted: Fitted[] = [];
  foldStarts.forEach((s, k) => {
    // The models see the data before the origin with its short bursts cleaned; their forecasts are
    // scored against the raw weeks (a burst in a fold's target costs every model alike).
    const results = (o.fitCandidates ?? forecastCandidates)(getModelInput(y.slice(0, s), o), WEEK, models);
    results.forEach((r, i) => {
      if (k === 0) fitted.push({ spec: r.spec, transform: r.transform, forecasts: [] });
      fitted[i].forecasts[k] = r.forecast;
    });
  });
  // Each fold's observed hours (undefined: all). A fold with none scores NaN, which the means leave out.
  const observed = foldStarts.map((s) => {
    const hours = Array.from({ length: WEEK }, (_, i) => i).filter((i) => !o.unobserved?.[s + i]);
    return hours.length < WEEK ? hours : undefined;
  });
  const onObserved = (values: readonly number[], k: number) => observed[k]?.map((i) => values[i]) ?? values;
  const maseOf = (f: readonly number[], k: number) => getMae(onObserved(actual[k], k), onObserved(f, k)) / scales[k];
  const candidates: CandidateScore[] = fitted.map((c) => {
    const complete = c.forecasts.every((f) => f !== undefined);
    const mase = complete ? c.forecasts.map((f, k) => maseOf(f as number[], k)) : undefined;
    const smape = complete ? c.forecasts.map((f, k) => getSmape(onObserved(actual[k], k), onObserved(f as number[], k))) : undefined;
    return { name: `${c.spec.model}/${c.transform}`, model: c.spec.model, family: c.spec.family, transform: c.transform, mase, smape, meanMase: mase ? recencyMean(mase) : Number.POSITIVE_INFINITY, eligible: false };
  });
  const snIndex = candidates.findIndex((c) => c.model === SEASONAL_NAIVE);
  const sn = candidates[snIndex];
  const snMase = sn.mase as number[];
  for (const c of candidates) {
    if (c === sn || !c.mase) continue;
    c.eligible = c.meanMase < sn.meanMase;
  }
  // The combination: the best `combine` distinct models by mean validation MASE (one transform each),
  // weights ∝ 1 / MASE² (FPP3 §13.4). A fixed rule rather than the best-scoring subset: choosing
  // among many subsets on six weeks fits their noise, and the subset that won them blows up on the
  // next week more often than a plain top-3 average does (backtests of the real series).
  const ranked = candidates.map((c, i) => ({ c, i })).filter(({ c }) => c.eligible).sort((a, b) => a.c.meanMase - b.c.meanMase);
  const top: number[] = [];
  for (const { c, i } of ranked) {
    if (top.length >= o.combine) break;
    if (!top.some((j) => candidates[j].model === c.model)) top.push(i);
  }
  const foldForecast = (i: number, k: number) => fitted[i].forecasts[k] as number[];
  let chosenMembers: { i: number; weight: number }[] = [{ i: snIndex, weight: 1 }];
  if (top.length > 0) {
    const raw = top.map((i) => 1 / candidates[i].meanMase ** 2);
    const total = raw.reduce((a, b) => a + b, 0);
    // Shrunk toward seasonal naive by a fixed SHRINK_TO_SEASONAL_NAIVE: it is the one forecast that
    // follows last week wherever the averages lag, and a small share of it cut the worst held-out week
    // (1.26 → 1.18 × seasonal naive over 196 weeks of the development series) at no cost in the mean.
    const members = [...top.map((i, j) => ({ i, weight: (1 - SHRINK_TO_SEASONAL_NAIVE) * (raw[j] / total) })), { i: snIndex, weight: SHRINK_TO_SEASONAL_NAIVE }];
    const mase = foldStarts.map((_, k) => maseOf(combine(members.map((m) => ({ forecast: foldForecast(m.i, k), weight: m.weight }))), k));
    if (recencyMean(mase) < sn.meanMase) chosenMembers = members;
  }
  // A shift in the last week (most of its days far from the weeks before): the week averages and
  // smoothers still forecast the old pattern, and validation cannot see it yet (its folds end
  // before the shift). Only "the same hour last week" has the new pattern: it is the forecast.
  const shift = detectRecentShift(y);
  if (shift.shifted) chosenMembers = [{ i: snIndex, weight: 1 }];
  const chosenFolds = foldStarts.map((_, k) => combine(chosenMembers.map((m) => ({ forecast: foldForecast(m.i, k), weight: m.weight }))));
  // Level correction: judged on folds 1..K−1 (fold 0 has no previous forecast to take the error from).
  let correction: { phi: number; hours: number } | null = null;
  let finalFolds = chosenFolds;
  if (K >= 2 && !(chosenMembers.length === 1 && chosenMembers[0].i === snIndex)) {
    const corrected = (phi: number, hours: number) => chosenFolds.map((f, k) => (k === 0 ? f : applyCorrection(f, getEndResidual(y, foldStarts[k], chosenFolds[k - 1], hours), phi)));
    const score = (folds: number[][]) => recencyMean(folds.slice(1).map((f, k) => maseOf(f, k + 1)));
    let best = score(chosenFolds);
    for (const hours of CORRECTION_WINDOWS) {
      for (const phi of CORRECTION_PHIS) {
        const c = corrected(phi, hours);
        const s = score(c);
        // Kept only if it also keeps every corrected fold within the seasonal-naive bound.
        if (s < best && c.slice(1).every((f, k) => !(maseOf(f, k + 1) > o.maxFoldRatio * snMase[k + 1]))) {
          best = s;
          correction = { phi, hours };
          finalFolds = c;
        }
      }
    }
  }
  // Holidays: the effect learned from the data before each fold, applied to the fold's holiday hours;
  // kept unless it raises the validation MASE.
  let holidayEffect: number[] | null = null;
  if (o.calendar) {
    const calendar = o.calendar;
    const effects = foldStarts.map((s) => learnHolidayEffect(y.slice(0, s), calendar));
    const adjusted = finalFolds.map((f, k) => {
      const e = effects[k];
      return e ? applyHolidayEffect(f, foldStarts[k], e, calendar) : f;
    });
    const before = recencyMean(finalFolds.map((f, k) => maseOf(f, k)));
    const after = recencyMean(adjusted.map((f, k) => maseOf(f, k)));
    const full = learnHolidayEffect(y, calendar);
    if (full && after <= before) {
      holidayEffect = full;
      finalFolds = adjusted;
    }
  }
  const chosenMase = finalFolds.map((f, k) => maseOf(f, k));
  const combined = chosenMembers.length === 1 ? candidates[chosenMembers[0].i].name : `combination of ${chosenMembers.map((m) => `${candidates[m.i].name} (${m.weight.toFixed(2)})`).join(', ')}`;
  const describe = shift.shifted ? `${combined} (the last week departs from the weeks before on ${shift.days} of 7 days: a new pattern only last week has)` : combined;
  const errorsByDay: number[][] = Array.from({ length: 7 }, () => []);
  // Volatility before each fold and now; where there is no week before a fold's week, today's. A
  // floor at a quarter of their median keeps a near-perfectly repeating week from scaling errors up.
  const current = getVolatility(y, y.length);
  const foldVolatility = foldStarts.map((s) => (s >= 2 * WEEK ? getVolatility(y, s) : current));
  const floor = median([...foldVolatility, current]) / 4;
  const errorScale = Math.max(current, floor);
  finalFolds.forEach((f, k) => {
    const v = Math.max(foldVolatility[k], floor);
    for (const i of observed[k] ?? Array.from({ length: WEEK }, (_, i) => i)) errorsByDay[Math.floor(i / 24)].push((Math.log1p(actual[k][i]) - Math.log1p(f[i])) / v);
  });
  for (const b of errorsByDay) b.sort((a, b2) => a - b2);
  return {
    foldStarts,
    candidates,
    seasonalNaive: { mase: snMase, meanMase: sn.meanMase },
    chosen: {
      name: `${describe}${correction ? ` + level correction (last ${correction.hours} h, φ = ${correction.phi})` : ''}${holidayEffect ? ' + holiday effect' : ''}`,
      members: chosenMembers.map((m) => ({ name: candidates[m.i].name, weight: m.weight })),
      correction,
      holidayEffect,
      mase: chosenMase,
      meanMase: recencyMean(chosenMase),
    },
    shift,
    errorsByDay,
    errorScale,
    levelChanges: getLevelChanges(y),
    lastFoldForecast: chosenFolds[K - 1],
  };
}

/** A forecast with its quantiles (original scale, per hour after the history). */
export interface ModelForecast {
  mean: number[];
  /** Quantile level → values. */
  quantiles: Map<number, number[]>;
  /** Every candidate's own forecast (name → values), for the backtest. */
  candidates: Map<string, number[]>;
}

/** Refits the chosen members on the whole history and forecasts `h` hours with the quantiles. */
export function forecastWithSelection(y: readonly number[], selection: ModelSelection, h: number, quantiles: readonly number[] = [], options: Partial<SelectionOptions> & { allCandidates?: boolean } = {}): ModelForecast {
  const o = { ...DEFAULT_SELECTION, ...options };
  const names = new Set(selection.chosen.members.map((m) => m.name));
  const models = getModels(o).filter((m) => options.allCandidates || m.transforms.some((t) => names.has(`${m.model}/${t}`)));
  const results = (o.fitCandidates ?? forecastCandidates)(getModelInput(y, o), h, models);
  const candidates = new Map<string, number[]>();
  for (const r of results) if (r.forecast) candidates.set(`${r.spec.model}/${r.transform}`, r.forecast);
  let point = combine(selection.chosen.members.map((m) => ({ forecast: candidates.get(m.name) as number[], weight: m.weight })));
  const c = selection.chosen.correction;
  if (c) {
    // The residual: the last validation fold's forecast against the last hours of the history.
    point = applyCorrection(point, getEndResidual(y, y.length, selection.lastFoldForecast, c.hours), c.phi);
  }
  if (selection.chosen.holidayEffect && o.calendar) point = applyHolidayEffect(point, y.length, selection.chosen.holidayEffect, o.calendar);
  const q = new Map<number, number[]>();
  for (const level of quantiles) {
    // The larger of the day's and the whole week's error quantile: validation errors are a little
    // optimistic (the model was chosen on them), and a day has only folds × 24 of them.
    // The level is moved a quarter of the way to the tail for the same reason (0.9 → 0.925).
    // Errors are kept relative to their fold's volatility (`getVolatility`: how far the week before
    // the fold was from the week before it) and scaled by the volatility at the end of the history,
    // so a calm spell narrows the band and a turbulent one widens it (locally weighted conformal
    // intervals). A week's level can move as far as weeks have moved before: the offset is at least
    // that quantile of the history's week-to-week level changes (`getLevelChanges`), which the errors
    // of six validation weeks can miss (the electricity series' 2.5 % rise in the week of 7 August).
    // The backtests of the real series check the resulting coverage.
    const pooled = selection.errorsByDay.flat().sort((a, b) => a - b);
    const upperTail = level > 0.5;
    const adjusted = level === 0.5 ? level : upperTail ? level + (1 - level) / 4 : level - level / 4;
    const pick = upperTail ? Math.max : Math.min;
    const levelFloor = (week: number) => (selection.levelChanges.length > 0 ? (upperTail ? 1 : -1) * getLevelChangeQuantile(selection.levelChanges, week, upperTail ? adjusted : 1 - adjusted) : upperTail ? -Infinity : Infinity);
    const offsets = selection.errorsByDay.map((b) => pick(selection.errorScale * getQuantile(b, adjusted), selection.errorScale * getQuantile(pooled, adjusted), levelFloor(0)));
    // Past the first week (validated 168 h ahead only), the band is at least as wide as the level
    // has moved over as many weeks in the history (`getLevelChangeQuantile`).
    const weekOffsets: number[] = [];
    const offsetAt = (i: number) => {
      if (i < WEEK) return offsets[Math.floor(i / 24)];
      const week = Math.floor(i / WEEK);
      weekOffsets[week] ??= pick(offsets[6], levelFloor(week));
      return weekOffsets[week];
    };
    q.set(level, point.map((v, i) => Math.max(0, Math.expm1(Math.log1p(v) + offsetAt(i)))));
  }
  return { mean: point, quantiles: q, candidates };
}
