/**
 * The one path from an hourly history to a forecast, shared by `forecast`/`plan`/`simulate`/`cost`
 * (`learnBase`) and by every fold of `backtest`: data gaps filled (`fillZeroGaps`), the shop's wall
 * clock where it changes (`viewOnWallClock`), the last MAX_MODEL_WEEKS weeks (`getRecentHistory`), the
 * cross-validated choice (`selectModel`) and its forecast with quantiles (`forecastWithSelection`),
 * read back per UTC hour.
 */
import { mapCalendarHours } from './holidays.ts';
import type { ModelSelection, SelectionOptions } from './model-selection.ts';
import { forecastWithSelection, getRecentHistory, selectModel } from './model-selection.ts';
import { fillZeroGaps, markHours } from './outliers.ts';
import { viewOnWallClock } from './wall-clock.ts';

export interface HistoryForecast {
  selection: ModelSelection;
  /** Per UTC hour after the history, `horizon` of them. */
  mean: number[];
  /** Quantile level → values per UTC hour. */
  quantiles: Map<number, number[]>;
  /** Every candidate's own forecast per UTC hour (with `allCandidates`). */
  candidates: Map<string, number[]>;
  /** The history with its data gaps filled, and the hours filled. */
  filled: { y: number[]; hours: number[] };
  /**
   * The series the models were fitted on and `selection` scored (its `foldStarts` index it): `filled` on the
   * wall clock, its last MAX_MODEL_WEEKS weeks.
   */
  modelled: number[];
}

/**
 * Forecasts `horizon` hours after `y`. `clock`: the wall-clock index of every hour of the history and
 * the horizon (`getWallClock`), or undefined when the clock does not change (or the models run in UTC).
 */
export function forecastHistory(y: readonly number[], horizon: number, clock: readonly number[] | undefined, quantiles: readonly number[], options: Partial<SelectionOptions> & { allCandidates?: boolean } = {}): HistoryForecast {
  const filled = fillZeroGaps(y);
  const view = viewOnWallClock(filled.y, horizon, clock);
  const unobserved = viewOnWallClock(markHours(y.length, filled.hours), horizon, clock).y.map((v) => v > 0);
  // The models count local hours from here on: holidays are read at the UTC hours those stand for.
  const calendar = options.calendar && clock ? mapCalendarHours(options.calendar, view.toUtcHour) : options.calendar;
  const recent = getRecentHistory(view.y, unobserved, calendar);
  const selection = selectModel(recent.y, { ...options, calendar: recent.calendar, unobserved: recent.unobserved });
  const f = forecastWithSelection(recent.y, selection, view.horizon, quantiles, { ...options, calendar: recent.calendar });
  return {
    selection,
    mean: view.toUtc(f.mean),
    quantiles: new Map([...f.quantiles].map(([level, values]) => [level, view.toUtc(values)])),
    candidates: new Map([...f.candidates].map(([name, values]) => [name, view.toUtc(values)])),
    filled,
    modelled: recent.y,
  };
}
