/**
 * Rolling-origin backtest on held-out weeks (FPP3 §5.10): for each held-out week, the whole model
 * choice (cross-validation on the weeks before it, combination, correction, quantiles) runs on the
 * data before that week only; then every candidate's forecast, the chosen forecast and its upper
 * quantile are scored on the week against seasonal naive (m = 168).
 */
import { ScalingInputError } from '../errors.ts';
import type { HourlyPoint } from './csv.ts';
import { getMae, getSeasonalNaiveScale, getSmape } from './metrics.ts';
import type { SelectionOptions } from './model-selection.ts';
import { MIN_HISTORY_WEEKS } from './model-selection.ts';
import { forecastHistory } from './pipeline.ts';
import { WEEK, forecastSeasonalNaive } from './seasonal-models.ts';
import type { SaleEvent } from './events.ts';
import { removeEventHours } from './uplift.ts';
import { getWallClock } from './wall-clock.ts';

export interface BacktestOptions {
  /** @defaultValue 4 */
  heldOutWeeks: number;
  /** Quantile whose coverage is reported. @defaultValue 0.9 */
  quantile: number;
  selection?: Partial<SelectionOptions>;
  /**
   * The shop's time zone: the models run on its wall clock (`wall-clock.ts`) and their forecasts are read
   * back onto the UTC hours they are scored on. Seasonal naive, the benchmark, stays the UTC hour a week
   * before. @defaultValue 'UTC'
   */
  timeZone?: string;
  /**
   * Past sale events: each fold's inputs have their hours replaced by the baseline (as `forecast` does),
   * and the held-out hours inside them are left out of the scores (the base forecast is the demand
   * before any sale; the uplift is not what is tested here).
   */
  events?: readonly SaleEvent[];
}

export interface Score {
  mase: number;
  smape: number;
}

export interface BacktestFold {
  testStart: string;
  /** What the cross-validation chose on the data before this week. */
  chosen: string;
  model: Score;
  seasonalNaive: Score;
  /**
   * model MASE ÷ seasonal naive MASE; 1 when both are 0 (two exact forecasts tie). null when seasonal
   * naive is exact on the week (MASE 0) and the model is not: no finite ratio exists. Such a week counts
   * as above seasonal naive (`weeksAtOrBelowSeasonalNaive`) and is left out of the worst week
   * (`getWorstWeekRatio`); the mean MASEs include it.
   */
  ratio: number | null;
  /** Share of the week's hours at or below the forecast quantile. */
  coverage: number;
  /** Every candidate, refitted on the same data. */
  candidates: Record<string, Score>;
}

export interface BacktestResult {
  points: number;
  heldOutWeeks: number;
  quantile: number;
  folds: BacktestFold[];
  meanMase: number;
  seasonalNaiveMeanMase: number;
  /** meanMase ÷ seasonalNaiveMeanMase, by the fold ratio's rule: null when only seasonal naive's is 0. */
  ratio: number | null;
  /** Mean coverage of the quantile over the held-out hours. */
  coverage: number;
  /** Held-out hours inside past sale events, left out of the scores. */
  eventHoursLeftOut: number;
  /** Weeks on which the model's MASE is at or below seasonal naive's (a week without a ratio is not). */
  weeksAtOrBelowSeasonalNaive: number;
  beatsSeasonalNaive: boolean;
}

function score(actual: readonly number[], forecast: readonly number[], scale: number, kept?: readonly number[]): Score {
  const a = kept ? kept.map((i) => actual[i]) : actual;
  const f = kept ? kept.map((i) => forecast[i]) : forecast;
  return { mase: getMae(a, f) / scale, smape: getSmape(a, f) };
}

/**
 * a ÷ b, where two perfect forecasts (a constant or all-zero series) tie at 1 rather than 0 ÷ 0, and
 * null where only b is 0: a model that misses a week the benchmark forecast exactly is worse by no finite
 * factor (Infinity would also turn into null in JSON, unexplained).
 */
function getRatio(a: number, b: number): number | null {
  if (b === 0) return a === 0 ? 1 : null;
  return a / b;
}

/** The largest ratio among the weeks that have one; null when none has. */
export function getWorstWeekRatio(folds: readonly BacktestFold[]): number | null {
  const ratios = folds.flatMap((f) => (f.ratio === null ? [] : [f.ratio]));
  return ratios.length > 0 ? Math.max(...ratios) : null;
}

export function runBacktest(series: readonly HourlyPoint[], options: Partial<BacktestOptions> = {}): BacktestResult {
  const o = { heldOutWeeks: 4, quantile: 0.9, ...options };
  const y = series.map((p) => p.requests);
  if (!(Number.isInteger(o.heldOutWeeks) && o.heldOutWeeks >= 1)) throw new ScalingInputError('INVALID_OPTION', `held-out weeks must be an integer ≥ 1 (got ${o.heldOutWeeks})`);
  if (!(o.quantile > 0 && o.quantile < 1)) throw new ScalingInputError('INVALID_OPTION', `quantile must be in (0, 1) (got ${o.quantile})`);
  if (y.length < (MIN_HISTORY_WEEKS + o.heldOutWeeks) * WEEK) {
    throw new ScalingInputError('INSUFFICIENT_HISTORY', `backtest needs ${MIN_HISTORY_WEEKS + o.heldOutWeeks} weeks of hourly data (${MIN_HISTORY_WEEKS} to train + ${o.heldOutWeeks} held out); got ${(y.length / WEEK).toFixed(1)}`);
  }
  const clock = y.length > 0 ? getWallClock(series[0].hour.getTime(), y.length, o.timeZone) : undefined;
  const inEvent = o.events ? removeEventHours(series, o.events).inEvent : undefined;
  let eventHoursLeftOut = 0;
  const folds: BacktestFold[] = [];
  for (let k = o.heldOutWeeks; k >= 1; k--) {
    const split = y.length - k * WEEK;
    // Cleaned from the weeks before the fold only: nothing of the held-out week leaks into its inputs.
    const train = o.events ? removeEventHours(series.slice(0, split), o.events).y : y.slice(0, split);
    const test = y.slice(split, split + WEEK);
    const kept = inEvent ? test.map((_, i) => i).filter((i) => !inEvent[split + i]) : undefined;
    if (kept) {
      eventHoursLeftOut += WEEK - kept.length;
      if (kept.length === 0) continue;
    }
    const scale = Math.max(getSeasonalNaiveScale(train, WEEK), 1e-9);
    // On the wall clock when it changes in the series; scored on UTC hours either way.
    // The models see the data gaps (runs of zeros where demand was expected) filled; seasonal naive, the
    // benchmark, forecasts from the weeks as they are.
    const f = forecastHistory(train, WEEK, clock, [o.quantile], { ...o.selection, allCandidates: true });
    const selection = f.selection;
    const upper = f.quantiles.get(o.quantile) as number[];
    const model = score(test, f.mean, scale, kept);
    const seasonalNaive = score(test, forecastSeasonalNaive(train, WEEK, WEEK), scale, kept);
    folds.push({
      testStart: series[split].hour.toISOString(),
      chosen: selection.chosen.name,
      model,
      seasonalNaive,
      ratio: getRatio(model.mase, seasonalNaive.mase),
      coverage: (kept ?? test.map((_, i) => i)).filter((i) => test[i] <= upper[i]).length / (kept?.length ?? WEEK),
      candidates: Object.fromEntries([...f.candidates].map(([name, fc]) => [name, score(test, fc, scale, kept)])),
    });
  }
  if (folds.length === 0) throw new ScalingInputError('INSUFFICIENT_HISTORY', 'every held-out week lies inside a sale event: nothing is left to score');
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanMase = mean(folds.map((f) => f.model.mase));
  const seasonalNaiveMeanMase = mean(folds.map((f) => f.seasonalNaive.mase));
  return {
    points: y.length,
    heldOutWeeks: o.heldOutWeeks,
    quantile: o.quantile,
    folds,
    meanMase,
    seasonalNaiveMeanMase,
    ratio: getRatio(meanMase, seasonalNaiveMeanMase),
    coverage: mean(folds.map((f) => f.coverage)),
    eventHoursLeftOut,
    weeksAtOrBelowSeasonalNaive: folds.filter((f) => f.model.mase <= f.seasonalNaive.mase).length,
    beatsSeasonalNaive: meanMase < seasonalNaiveMeanMase,
  };
}
