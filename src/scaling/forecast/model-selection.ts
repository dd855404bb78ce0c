/**
 * Model choice by time-series cross-validation (FPP3 §5.10, rolling forecasting origin): the last
 * K weeks of the history are forecast one at a time, 168 h ahead, each from the data before it only.
 * Every candidate is scored by MASE (scale: in-sample seasonal naive MAE, m = 168) on each fold.
 *
 * A candidate is eligible only if it beats seasonal naive on the mean over the folds and never does
 * worse than 1.2 × seasonal naive on a single fold (no blow-ups). The best three eligible
 * candidates (at most two of one family) are combined with weights ∝ 1 / MASE² (FPP3 §13.4);
 * the combination is used when its validation MASE beats the best single candidate's. With no
 * eligible candidate the forecast IS seasonal naive. A level correction (the relative error of the
 * chosen forecast over the last 3 hours before the origin, decaying by φ per hour, an AR(1) on the
 * residual) is kept when it lowers the validation MASE. Prediction quantiles are the empirical
 * quantiles of the validation errors on the log(1 + y) scale, by day of horizon (at least the
 * quantile of the whole week's errors).
 */
import { ScalingInputError } from '../errors.ts';
import type { CandidateModel } from './candidates.ts';
import { SEASONAL_NAIVE, getCandidateModels } from './candidates.ts';
import { getMae, getSeasonalNaiveScale, getSmape } from './metrics.ts';
import { WEEK } from './seasonal-models.ts';
import type { TransformName } from './transforms.ts';
import { createTransform } from './transforms.ts';
import type { SeriesCalendar } from './holidays.ts';
import { applyHolidayEffect, learnHolidayEffect } from './holidays.ts';

/** Options of the cross-validation. */
export interface SelectionOptions {
  /** Validation weeks (rolling origins); fewer if the history is short. @defaultValue 6 */
  folds: number;
  /** Most candidates in a combination. @defaultValue 3 */
  combine: number;
  /** Distinct models (best first) from which combinations are drawn, besides seasonal naive. @defaultValue 6 */
  pool: number;
  /** A candidate (or combination) may not exceed this × seasonal naive's MASE on any fold. @defaultValue 1.1 */
  maxFoldRatio: number;
  /** Holidays (`--country`): their learned effect is applied when it does not hurt in validation. */
  calendar?: SeriesCalendar;
  /** Limit the candidate models (ids as in `getCandidateModels`). */
  models?: readonly string[];
}

export const DEFAULT_SELECTION: SelectionOptions = { folds: 6, combine: 3, pool: 6, maxFoldRatio: 1.1 };

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
  meanMase: number;
}

export interface ModelSelection {
  /** Hour index of each fold's first hour (fold = the 168 h from there). */
  foldStarts: number[];
  candidates: CandidateScore[];
  seasonalNaive: { mase: number[]; meanMase: number };
  chosen: ChosenModel;
  /** Sorted validation errors log1p(actual) − log1p(forecast), by day of horizon (7 buckets). */
  errorsByDay: number[][];
  /** The chosen combination's (uncorrected) forecast of the last fold, which ends where the history ends. */
  lastFoldForecast: number[];
}

/** Minimum history for any weekly model (seasonal naive needs one week to train, two to validate). */
export const MIN_HISTORY_WEEKS = 3;

const CORRECTION_PHIS = [0.8, 0.9, 0.95, 0.98, 0.995];
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

/** Fits every candidate on `train` and forecasts `h` hours (original scale). */
export function forecastCandidates(train: readonly number[], h: number, models: readonly CandidateModel[]): { spec: CandidateModel; transform: TransformName; forecast: number[] | undefined }[] {
  const out: { spec: CandidateModel; transform: TransformName; forecast: number[] | undefined }[] = [];
  const cache = new Map<TransformName, { z: number[]; inverse: (v: number) => number } | null>();
  for (const spec of models) {
    for (const t of spec.transforms) {
      let tz = cache.get(t);
      if (tz === undefined) {
        const tr = createTransform(t, train);
        // Box-Cox with λ ≈ 0 or 1 is log1p or none again: not fitted twice.
        tz = tr.lambda !== undefined && (tr.lambda < 0.05 || tr.lambda > 0.95) ? null : { z: train.map(tr.forward), inverse: tr.inverse };
        cache.set(t, tz);
      }
      if (tz === null) {
        out.push({ spec, transform: t, forecast: undefined });
        continue;
      }
      const zf = spec.forecaster(tz.z, h);
      const inverse = tz.inverse;
      out.push({ spec, transform: t, forecast: zf?.map(inverse) });
    }
  }
  return out;
}

/** All subsets of `items` with sizes in [min, max], in order. */
function getSubsets<T>(items: readonly T[], min: number, max: number): T[][] {
  const out: T[][] = [];
  const walk = (from: number, acc: T[]) => {
    if (acc.length >= min) out.push([...acc]);
    if (acc.length === max) return;
    for (let i = from; i < items.length; i++) walk(i + 1, [...acc, items[i]]);
  };
  walk(0, []);
  return out;
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

/** Runs the cross-validation and chooses the model. Pure; deterministic. */
export function selectModel(y: readonly number[], options: Partial<SelectionOptions> = {}): ModelSelection {
  const o = { ...DEFAULT_SELECTION, ...options };
  requireWeeklyHistory(y.length);
  const models = getModels(o);
  const weeks = Math.floor(y.length / WEEK);
  const K = Math.max(1, Math.min(o.folds, weeks - 1));
  const foldStarts = Array.from({ length: K }, (_, k) => y.length - (K - k) * WEEK);
  const actual = foldStarts.map((s) => y.slice(s, s + WEEK));
  const scales = foldStarts.map((s) => Math.max(getSeasonalNaiveScale(y.slice(0, s), WEEK), 1e-9));
  const fitted: Fitted[] = [];
  foldStarts.forEach((s, k) => {
    const results = forecastCandidates(y.slice(0, s), WEEK, models);
    results.forEach((r, i) => {
      if (k === 0) fitted.push({ spec: r.spec, transform: r.transform, forecasts: [] });
      fitted[i].forecasts[k] = r.forecast;
    });
  });
  const maseOf = (f: readonly number[], k: number) => getMae(actual[k], f) / scales[k];
  const candidates: CandidateScore[] = fitted.map((c) => {
    const complete = c.forecasts.every((f) => f !== undefined);
    const mase = complete ? c.forecasts.map((f, k) => maseOf(f as number[], k)) : undefined;
    const smape = complete ? c.forecasts.map((f, k) => getSmape(actual[k], f as number[])) : undefined;
    return { name: `${c.spec.model}/${c.transform}`, model: c.spec.model, family: c.spec.family, transform: c.transform, mase, smape, meanMase: mase ? mean(mase) : Number.POSITIVE_INFINITY, eligible: false };
  });
  const snIndex = candidates.findIndex((c) => c.model === SEASONAL_NAIVE);
  const sn = candidates[snIndex];
  const snMase = sn.mase as number[];
  for (const c of candidates) {
    if (c === sn || !c.mase) continue;
    c.eligible = c.meanMase < sn.meanMase && c.mase.every((m, k) => m <= o.maxFoldRatio * snMase[k]);
  }
  // Combinations: subsets (2–3) of the best distinct models plus seasonal naive itself, with
  // weights ∝ 1 / MASE²; judged by the same rule as single candidates.
  const pool: number[] = [];
  for (const r of candidates.map((c, i) => ({ c, i })).filter(({ c }) => c.mase && c.meanMase < 1.25 * sn.meanMase).sort((a, b) => a.c.meanMase - b.c.meanMase)) {
    if (pool.length >= o.pool) break;
    if (!pool.some((i) => candidates[i].model === r.c.model)) pool.push(r.i);
  }
  if (!pool.includes(snIndex)) pool.push(snIndex);
  const foldForecast = (i: number, k: number) => fitted[i].forecasts[k] as number[];
  const ratioOk = (mase: readonly number[]) => mase.every((m, k) => m <= o.maxFoldRatio * snMase[k]);
  const choices: { members: { i: number; weight: number }[]; meanMase: number }[] = candidates
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.eligible)
    .map(({ c, i }) => ({ members: [{ i, weight: 1 }], meanMase: c.meanMase }));
  for (const subset of getSubsets(pool, 2, o.combine)) {
    const raw = subset.map((i) => 1 / candidates[i].meanMase ** 2);
    const total = raw.reduce((a, b) => a + b, 0);
    const members = subset.map((i, j) => ({ i, weight: raw[j] / total }));
    const mase = foldStarts.map((_, k) => maseOf(combine(members.map((m) => ({ forecast: foldForecast(m.i, k), weight: m.weight }))), k));
    if (mean(mase) < sn.meanMase && ratioOk(mase)) choices.push({ members, meanMase: mean(mase) });
  }
  choices.sort((a, b) => a.meanMase - b.meanMase);
  const chosenMembers = choices[0]?.members ?? [{ i: snIndex, weight: 1 }];
  const chosenFolds = foldStarts.map((_, k) => combine(chosenMembers.map((m) => ({ forecast: foldForecast(m.i, k), weight: m.weight }))));
  // Level correction: judged on folds 1..K−1 (fold 0 has no previous forecast to take the error from).
  let correction: { phi: number; hours: number } | null = null;
  let finalFolds = chosenFolds;
  if (K >= 2 && !(chosenMembers.length === 1 && chosenMembers[0].i === snIndex)) {
    const corrected = (phi: number, hours: number) => chosenFolds.map((f, k) => (k === 0 ? f : applyCorrection(f, getEndResidual(y, foldStarts[k], chosenFolds[k - 1], hours), phi)));
    const score = (folds: number[][]) => mean(folds.slice(1).map((f, k) => maseOf(f, k + 1)));
    let best = score(chosenFolds);
    for (const hours of CORRECTION_WINDOWS) {
      for (const phi of CORRECTION_PHIS) {
        const c = corrected(phi, hours);
        const s = score(c);
        // Kept only if it also keeps every corrected fold within the seasonal-naive bound.
        if (s < best && c.slice(1).every((f, k) => maseOf(f, k + 1) <= o.maxFoldRatio * snMase[k + 1])) {
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
    const before = mean(finalFolds.map((f, k) => maseOf(f, k)));
    const after = mean(adjusted.map((f, k) => maseOf(f, k)));
    const full = learnHolidayEffect(y, calendar);
    if (full && after <= before) {
      holidayEffect = full;
      finalFolds = adjusted;
    }
  }
  const chosenMase = finalFolds.map((f, k) => maseOf(f, k));
  const describe = chosenMembers.length === 1 ? candidates[chosenMembers[0].i].name : `combination of ${chosenMembers.map((m) => `${candidates[m.i].name} (${m.weight.toFixed(2)})`).join(', ')}`;
  const errorsByDay: number[][] = Array.from({ length: 7 }, () => []);
  finalFolds.forEach((f, k) => {
    for (let i = 0; i < WEEK; i++) errorsByDay[Math.floor(i / 24)].push(Math.log1p(actual[k][i]) - Math.log1p(f[i]));
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
      meanMase: mean(chosenMase),
    },
    errorsByDay,
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
  const results = forecastCandidates(y, h, models);
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
    // The level is moved a quarter of the way to the tail for the same reason (0.9 → 0.925); the
    // backtests of the committed series check the resulting coverage.
    const pooled = selection.errorsByDay.flat().sort((a, b) => a - b);
    const upperTail = level > 0.5;
    const adjusted = level === 0.5 ? level : upperTail ? level + (1 - level) / 4 : level - level / 4;
    const pick = upperTail ? Math.max : Math.min;
    const offsets = selection.errorsByDay.map((b) => pick(getQuantile(b, adjusted), getQuantile(pooled, adjusted)));
    q.set(level, point.map((v, i) => Math.max(0, Math.expm1(Math.log1p(v) + offsets[Math.min(6, Math.floor(i / 24))]))));
  }
  return { mean: point, quantiles: q, candidates };
}
