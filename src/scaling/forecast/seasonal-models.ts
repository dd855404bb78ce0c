/**
 * Forecasters on a (transformed) hourly series with a weekly season of m = 168 hours. Each takes the
 * training series and a horizon and returns point forecasts; none looks past its training data.
 *
 * The "week averages" are the robust family: the same hour of the last k weeks averaged (mean,
 * median, or exponentially weighted), optionally shifted to last week's level. On real traffic they
 * beat "same hour last week" (seasonal naive) because one week's noise, outages and holidays are
 * averaged out, while the daily and weekly shape is kept exactly; the median also ignores one
 * holiday among its weeks. FPP3 §5.2 (simple methods) and §13.4 (forecast combinations).
 */

export const WEEK = 168;

/** A forecaster on the transformed series. `undefined`: not enough history for this model. */
export type Forecaster = (z: readonly number[], h: number) => number[] | undefined;

/** Seasonal naive: y[T + i] = y[T − m + (i mod m)] (R: `snaive`). */
export function forecastSeasonalNaive(y: readonly number[], m: number, h: number): number[] {
  return Array.from({ length: h }, (_, i) => y[y.length - m + (i % m)]);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export type WeekAverageKind = 'mean' | 'median' | 'ewma';

export interface WeekAverageOptions {
  kind: WeekAverageKind;
  /** Weeks averaged (the most recent ones). */
  weeks: number;
  /** Decay per week back for `ewma` (weight of week j back ∝ decay^j). @defaultValue 0.6 */
  decay?: number;
  /** Shift the average by (last week's mean − the averaged weeks' mean), in transformed units. */
  levelAdjust?: boolean;
  /**
   * Scale each averaged week by (last week's mean ÷ its own) before averaging: a multiplicative level on
   * the raw scale, so a growing or fading series is averaged at the last week's level and its quiet hours
   * stay quiet (`levelAdjust` on log(1 + y) is the additive counterpart, which lifts zero hours too).
   */
  scaleToLastWeek?: boolean;
  /**
   * With `scaleToLastWeek`: continue the weekly mean's growth rate over the last `growthWeeks` weeks for
   * one week (the horizon the models are validated on): each hour is last week's same hour (as scaled)
   * × one week of growth; further out the level stays there.
   */
  growthWeeks?: number;
  /**
   * Shift by the last 24 hours' departure from the profile at the same hours of the week (the
   * profile built from the weeks before them), decaying by this factor per hour ahead.
   */
  dayLevelDecay?: number;
}

/** The same hour of the last `weeks` weeks, averaged. Uses the weeks there are (at least one). */
export function forecastWeekAverage(z: readonly number[], h: number, o: WeekAverageOptions): number[] | undefined {
  const n = z.length;
  const k = Math.min(o.weeks, Math.floor(n / WEEK));
  if (k < 1) return undefined;
  const decay = o.decay ?? 0.6;
  const weights = Array.from({ length: k }, (_, j) => (o.kind === 'ewma' ? decay ** j : 1));
  const wsum = weights.reduce((a, b) => a + b, 0);
  const profile = new Array<number>(WEEK);
  const column = new Array<number>(k);
  const means = o.scaleToLastWeek ? getWeekMeans(z, Math.min(Math.floor(n / WEEK), Math.max(k, (o.growthWeeks ?? 0) + 1))) : undefined;
  const factor = Array.from({ length: k }, (_, j) => (means && means[j] > 0 ? means[0] / means[j] : 1));
  for (let p = 0; p < WEEK; p++) {
    for (let j = 0; j < k; j++) column[j] = z[n - (j + 1) * WEEK + p] * factor[j];
    if (o.kind === 'median') profile[p] = median(column);
    else {
      let s = 0;
      for (let j = 0; j < k; j++) s += weights[j] * column[j];
      profile[p] = s / wsum;
    }
  }
  let shift = 0;
  if (o.levelAdjust && k > 1) {
    let last = 0;
    for (let i = n - WEEK; i < n; i++) last += z[i];
    shift = last / WEEK - profile.reduce((a, b) => a + b, 0) / WEEK;
  }
  if (o.dayLevelDecay !== undefined && n >= (k + 1) * WEEK) {
    // Same average for the last day, built from the k weeks before it.
    let dev = 0;
    for (let i = n - 24; i < n; i++) {
      let s = 0;
      for (let j = 1; j <= k; j++) s += weights[j - 1] * z[i - j * WEEK];
      dev += z[i] - s / wsum;
    }
    dev /= 24;
    let f = 1;
    return Array.from({ length: h }, (_, i) => {
      f *= o.dayLevelDecay as number;
      return profile[i % WEEK] + shift + dev * f;
    });
  }
  const t = o.growthWeeks ?? 0;
  if (means && t > 0 && means.length > t && means[t] > 0 && means[0] > 0) {
    const growth = Math.log(means[0] / means[t]) / t;
    // The profile holds last week's hours at their own level: each hour ahead is one week of growth later.
    const next = Math.exp(growth);
    return Array.from({ length: h }, (_, i) => profile[i % WEEK] * next);
  }
  return Array.from({ length: h }, (_, i) => profile[i % WEEK] + shift);
}

/** Weeks in a year for the year-over-year models: 364 days, so that each hour keeps its weekday. */
export const YEAR_WEEKS = 52;
/**
 * Last year's change is clamped to [1/2, 2] before it is applied: a week closed last year (ratio 0) or a
 * base week nearly empty (a ratio in the thousands) says nothing about next week's level.
 */
export const YEAR_OVER_YEAR_MAX = 2;

function getWeekMean(z: readonly number[], from: number): number {
  let s = 0;
  for (let i = from; i < from + WEEK; i++) s += z[i];
  return s / WEEK;
}

/**
 * Last year's change of the weekly mean: for each week j = 0, 1, … ahead of the origin, the mean of the
 * week that started YEAR_WEEKS weeks before that week's start, ÷ the mean of the week before the first
 * of them (a year before the last week of z). Past YEAR_WEEKS weeks ahead the last one is held.
 * Undefined when z holds less than YEAR_WEEKS + 1 weeks, or that base week's mean is not positive.
 */
export function getYearOverYearRatios(z: readonly number[], weeksAhead: number): number[] | undefined {
  const base = z.length - (YEAR_WEEKS + 1) * WEEK;
  if (base < 0) return undefined;
  const m0 = getWeekMean(z, base);
  if (!(m0 > 0)) return undefined;
  return Array.from({ length: weeksAhead }, (_, j) => getWeekMean(z, base + Math.min(j + 1, YEAR_WEEKS) * WEEK) / m0);
}

export interface YearOverYearOptions {
  /** The ratio is raised to this power (1: last year's change in full; 0.5: half of it, geometrically). @defaultValue 1 */
  exponent?: number;
}

/**
 * The 5-week median scaled to the last week's level (`median-5w-scaled`) × last year's change of the weekly
 * level from "this week" to the week ahead (`getYearOverYearRatios`): a season that turned at this time
 * last year (the autumn rise of electricity load, the return from a summer lull) is carried into the
 * forecast, which the recent weeks cannot show. Undefined with less than YEAR_WEEKS + 1 weeks of history.
 */
export function forecastMedianYearOverYear(z: readonly number[], h: number, o: YearOverYearOptions = {}): number[] | undefined {
  const ratios = getYearOverYearRatios(z, Math.ceil(h / WEEK));
  if (!ratios) return undefined;
  const base = forecastWeekAverage(z, h, { kind: 'median', weeks: 5, scaleToLastWeek: true });
  if (!base) return undefined;
  const factors = ratios.map((r) => Math.min(YEAR_OVER_YEAR_MAX, Math.max(1 / YEAR_OVER_YEAR_MAX, r)) ** (o.exponent ?? 1));
  return base.map((v, i) => v * factors[Math.floor(i / WEEK)]);
}

/** Means of the last `weeks` whole weeks of z, the most recent first. */
function getWeekMeans(z: readonly number[], weeks: number): number[] {
  const n = z.length;
  return Array.from({ length: weeks }, (_, j) => {
    let s = 0;
    for (let i = n - (j + 1) * WEEK; i < n - j * WEEK; i++) s += z[i];
    return s / WEEK;
  });
}

/** Smoothing parameters of the double-seasonal model. */
export interface DoubleSeasonalParams {
  alpha: number;
  beta: number;
  /** Daily seasonal smoothing. */
  delta: number;
  /** Weekly seasonal smoothing. */
  omega: number;
  /** Trend damping per hour. */
  phi: number;
}

/**
 * Taylor's (2003) double-seasonal Holt-Winters, additive, with a damped trend (R: `forecast::dshw`
 * is its multiplicative form; additive on a log or Box-Cox scale is the same idea). One pass over
 * the series returns the 168-h forecasts from the given origins plus the final state's forecast.
 */
function runDoubleSeasonal(z: readonly number[], p: DoubleSeasonalParams, origins: readonly number[], h: number): { atOrigins: number[][]; final: number[] } {
  const hOrigins = WEEK;
  const D = 24;
  // Initial states from the first two weeks: level = their mean, daily = hour-of-day deviations,
  // weekly = hour-of-week deviations beyond the daily ones.
  const init = z.slice(0, 2 * WEEK);
  let level = init.reduce((a, b) => a + b, 0) / init.length;
  let trend = 0;
  const daily = new Array<number>(D).fill(0);
  for (let i = 0; i < init.length; i++) daily[i % D] += (init[i] - level) / (init.length / D);
  const weekly = new Array<number>(WEEK).fill(0);
  for (let i = 0; i < init.length; i++) weekly[i % WEEK] += (init[i] - level - daily[i % D]) / 2;
  const forecastFrom = (t: number, steps: number) => {
    const out = new Array<number>(steps);
    let damp = 0;
    let f = 1;
    for (let i = 0; i < steps; i++) {
      f *= p.phi;
      damp += f;
      out[i] = level + damp * trend + daily[(t + i) % D] + weekly[(t + i) % WEEK];
    }
    return out;
  };
  const atOrigins: number[][] = [];
  let next = 0;
  for (let t = 2 * WEEK; t < z.length; t++) {
    while (next < origins.length && origins[next] === t) atOrigins[next++] = forecastFrom(t, hOrigins);
    const d = daily[t % D];
    const w = weekly[t % WEEK];
    const prevLevel = level;
    level = p.alpha * (z[t] - d - w) + (1 - p.alpha) * (prevLevel + p.phi * trend);
    trend = p.beta * (level - prevLevel) + (1 - p.beta) * p.phi * trend;
    daily[t % D] = p.delta * (z[t] - level - w) + (1 - p.delta) * d;
    weekly[t % WEEK] = p.omega * (z[t] - level - d) + (1 - p.omega) * w;
  }
  return { atOrigins, final: forecastFrom(z.length, h) };
}

const DS_ALPHA = [0.01, 0.05, 0.15];
const DS_DELTA = [0, 0.05, 0.2];
const DS_OMEGA = [0.05, 0.15, 0.3];
const DS_TREND: ReadonlyArray<readonly [number, number]> = [[0, 1], [0.01, 0.98]];

/**
 * Fits the double-seasonal model: parameters from a grid, chosen by the MAE of the 168-h forecasts
 * made from the two origins one and two weeks before the end of the training data (the horizon
 * that matters; one-step error favours parameters that chase noise), then forecasts from the end.
 * Needs four weeks (two to initialise, two to choose).
 */
export function forecastDoubleSeasonal(z: readonly number[], h: number): number[] | undefined {
  const n = z.length;
  if (n < 4 * WEEK) return undefined;
  const origins = [n - 2 * WEEK, n - WEEK];
  let best: { mae: number; final: number[] } | undefined;
  for (const alpha of DS_ALPHA) {
    for (const delta of DS_DELTA) {
      for (const omega of DS_OMEGA) {
        for (const [beta, phi] of DS_TREND) {
          const run = runDoubleSeasonal(z, { alpha, beta, delta, omega, phi }, origins, h);
          let mae = 0;
          origins.forEach((o, k) => {
            for (let i = 0; i < WEEK; i++) mae += Math.abs(z[o + i] - run.atOrigins[k][i]);
          });
          if (!best || mae < best.mae) best = { mae, final: run.final };
        }
      }
    }
  }
  return best?.final;
}
