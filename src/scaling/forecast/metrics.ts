/** Forecast accuracy measures (Hyndman & Athanasopoulos, FPP3 §5.8). */

export function getMae(actual: readonly number[], forecast: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += Math.abs(actual[i] - forecast[i]);
  return s / actual.length;
}

export function getRmse(actual: readonly number[], forecast: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += (actual[i] - forecast[i]) ** 2;
  return Math.sqrt(s / actual.length);
}

/** Symmetric MAPE in percent: mean of 200·|a − f| / (|a| + |f|); terms with a = f = 0 count as 0. */
export function getSmape(actual: readonly number[], forecast: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]) + Math.abs(forecast[i]);
    s += d === 0 ? 0 : (200 * Math.abs(actual[i] - forecast[i])) / d;
  }
  return s / actual.length;
}

/** In-sample MAE of the seasonal naive forecast y[t − m] on the training series (the MASE scale). */
export function getSeasonalNaiveScale(training: readonly number[], m: number): number {
  let s = 0;
  for (let t = m; t < training.length; t++) s += Math.abs(training[t] - training[t - m]);
  return s / (training.length - m);
}

/** MASE: test MAE divided by the in-sample seasonal-naive MAE. */
export function getMase(actual: readonly number[], forecast: readonly number[], training: readonly number[], m: number): number {
  return getMae(actual, forecast) / getSeasonalNaiveScale(training, m);
}

/** All four measures. */
export interface AccuracyReport {
  mae: number;
  rmse: number;
  smape: number;
  mase: number;
}

export function getAccuracy(actual: readonly number[], forecast: readonly number[], training: readonly number[], m: number): AccuracyReport {
  return { mae: getMae(actual, forecast), rmse: getRmse(actual, forecast), smape: getSmape(actual, forecast), mase: getMase(actual, forecast, training, m) };
}
