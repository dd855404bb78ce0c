/**
 * Additive Holt-Winters (level, trend, one seasonal component of period m) — FPP3 §8.3.
 * With hourly data and m = 168 the weekly season contains the daily one (each weekday has its own
 * 24-hour shape). Parameters are chosen by a grid search on one-step-ahead squared error.
 */
import { ScalingInputError } from '../errors.ts';

/** Smoothing parameters. */
export interface HoltWintersParams {
  alpha: number;
  beta: number;
  gamma: number;
}

/** A fitted model: final states plus the parameters. */
export interface HoltWintersModel extends HoltWintersParams {
  m: number;
  level: number;
  trend: number;
  /** Seasonal states, index = position in the season of the next point after the training data. */
  season: number[];
  /** One-step-ahead sum of squared errors over the training data. */
  sse: number;
}

function fitWith(y: readonly number[], m: number, p: HoltWintersParams): HoltWintersModel {
  // Initial states from the first (up to) three seasons: level and trend from the season means,
  // each seasonal index averaged over those seasons (less noise than one season's deviations).
  const k = Math.min(3, Math.floor(y.length / m) - 1);
  const means = Array.from({ length: k }, (_, j) => y.slice(j * m, (j + 1) * m).reduce((a, b) => a + b, 0) / m);
  let level = means[0];
  let trend = k > 1 ? (means[k - 1] - means[0]) / ((k - 1) * m) : 0;
  const season = Array.from({ length: m }, (_, i) => {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += y[j * m + i] - (means[j] + (i - (m - 1) / 2) * trend);
    return sum / k;
  });
  let sse = 0;
  for (let t = m; t < y.length; t++) {
    const s = season[t % m];
    const f = level + trend + s;
    sse += (y[t] - f) ** 2;
    const prevLevel = level;
    level = p.alpha * (y[t] - s) + (1 - p.alpha) * (level + trend);
    trend = p.beta * (level - prevLevel) + (1 - p.beta) * trend;
    season[t % m] = p.gamma * (y[t] - prevLevel - trend) + (1 - p.gamma) * s;
  }
  const n = y.length;
  const rotated = Array.from({ length: m }, (_, i) => season[(n + i) % m]);
  return { ...p, m, level, trend, season: rotated, sse };
}

const ALPHAS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5];
const BETAS = [0, 0.001, 0.01, 0.05];
const GAMMAS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5];

/**
 * Fits by grid search (or with fixed parameters). Needs at least three seasons.
 * The parameters are chosen for the horizon that matters — one season ahead: each candidate is fitted
 * on the data minus its last season and scored (MAE) on that season; the winner is refitted on all
 * data. One-step error would favour large alpha/gamma that chase noise and forecast a week badly.
 */
export function fitHoltWinters(y: readonly number[], m = 168, params?: HoltWintersParams): HoltWintersModel {
  if (y.length < 3 * m) {
    throw new ScalingInputError('INSUFFICIENT_HISTORY', `Holt-Winters with m = ${m} needs at least ${3 * m} points (${(3 * m) / 168} weeks of hours); got ${y.length}`);
  }
  if (params) return fitWith(y, m, params);
  const fitPart = y.slice(0, y.length - m);
  const validation = y.slice(y.length - m);
  let best: { params: HoltWintersParams; mae: number } | undefined;
  for (const alpha of ALPHAS) {
    for (const beta of BETAS) {
      for (const gamma of GAMMAS) {
        const p = { alpha, beta, gamma };
        const f = forecastHoltWinters(fitWith(fitPart, m, p), m, false);
        let mae = 0;
        for (let i = 0; i < m; i++) mae += Math.abs(validation[i] - f[i]);
        if (!best || mae < best.mae) best = { params: p, mae };
      }
    }
  }
  return fitWith(y, m, (best as { params: HoltWintersParams }).params);
}

/** h-step forecast: level + h·trend + season; clipped at 0 (traffic is never negative). */
export function forecastHoltWinters(model: HoltWintersModel, h: number, clip = true): number[] {
  return Array.from({ length: h }, (_, i) => {
    const v = model.level + (i + 1) * model.trend + model.season[i % model.m];
    return clip ? Math.max(0, v) : v;
  });
}

/**
 * Holt-Winters on log(1 + y): additive in logs is multiplicative in traffic, so the daily swing
 * grows with the trend, as shop traffic does.
 */
export function fitLogHoltWinters(y: readonly number[], m = 168): HoltWintersModel {
  return fitHoltWinters(y.map((v) => Math.log1p(Math.max(0, v))), m);
}

export function forecastLogHoltWinters(model: HoltWintersModel, h: number): number[] {
  return forecastHoltWinters(model, h, false).map((v) => Math.max(0, Math.expm1(v)));
}

/** Seasonal naive: repeat the last season. */
export function forecastSeasonalNaive(y: readonly number[], m: number, h: number): number[] {
  return Array.from({ length: h }, (_, i) => y[y.length - m + (i % m)]);
}
