/**
 * Rolling-origin backtest on held-out weeks: for each held-out week, fit on everything before it,
 * forecast the week, and score Holt-Winters against seasonal naive (m = 168).
 */
import { ScalingInputError } from '../errors.ts';
import type { HourlyPoint } from './csv.ts';
import { fitLogHoltWinters, forecastLogHoltWinters, forecastSeasonalNaive } from './holt-winters.ts';
import type { AccuracyReport } from './metrics.ts';
import { getAccuracy } from './metrics.ts';

export interface BacktestOptions {
  /** @defaultValue 2 */
  heldOutWeeks: number;
  /** Season length in hours. @defaultValue 168 */
  m: number;
}

export interface BacktestFold {
  testStart: string;
  holtWinters: AccuracyReport;
  seasonalNaive: AccuracyReport;
  params: { alpha: number; beta: number; gamma: number };
}

export interface BacktestResult {
  points: number;
  folds: BacktestFold[];
  /** Mean over folds. */
  holtWinters: AccuracyReport;
  seasonalNaive: AccuracyReport;
  /** MASE < 1 and below seasonal naive's. */
  beatsSeasonalNaive: boolean;
}

function mean(reports: AccuracyReport[]): AccuracyReport {
  const avg = (k: keyof AccuracyReport) => reports.reduce((s, r) => s + r[k], 0) / reports.length;
  return { mae: avg('mae'), rmse: avg('rmse'), smape: avg('smape'), mase: avg('mase') };
}

export function runBacktest(series: readonly HourlyPoint[], options: Partial<BacktestOptions> = {}): BacktestResult {
  const o = { heldOutWeeks: 2, m: 168, ...options };
  const y = series.map((p) => p.requests);
  const horizon = 168;
  const minTrain = 4 * o.m; // three seasons to fit + one to choose the parameters
  if (!(o.heldOutWeeks >= 1)) throw new ScalingInputError('INVALID_OPTION', `heldOutWeeks must be ≥ 1 (got ${o.heldOutWeeks})`);
  if (y.length < minTrain + o.heldOutWeeks * horizon) {
    throw new ScalingInputError('INSUFFICIENT_HISTORY', `backtest needs ${minTrain / 168 + o.heldOutWeeks} weeks of hourly data (${minTrain / 168} to train + ${o.heldOutWeeks} held out); got ${(y.length / 168).toFixed(1)}`);
  }
  const folds: BacktestFold[] = [];
  for (let k = o.heldOutWeeks; k >= 1; k--) {
    const split = y.length - k * horizon;
    const train = y.slice(0, split);
    const test = y.slice(split, split + horizon);
    const model = fitLogHoltWinters(train, o.m);
    folds.push({
      testStart: series[split].hour.toISOString(),
      holtWinters: getAccuracy(test, forecastLogHoltWinters(model, horizon), train, o.m),
      seasonalNaive: getAccuracy(test, forecastSeasonalNaive(train, o.m, horizon), train, o.m),
      params: { alpha: model.alpha, beta: model.beta, gamma: model.gamma },
    });
  }
  const hw = mean(folds.map((f) => f.holtWinters));
  const sn = mean(folds.map((f) => f.seasonalNaive));
  return { points: y.length, folds, holtWinters: hw, seasonalNaive: sn, beatsSeasonalNaive: hw.mase < 1 && hw.mase < sn.mase };
}
