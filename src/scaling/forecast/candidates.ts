/**
 * The candidate set: every model × transform that the cross-validation scores. Seasonal naive
 * (m = 168, untransformed) is always in the set and is the benchmark every other candidate must beat.
 */
import { forecastMstlEts } from './mstl-ets.ts';
import type { Forecaster, WeekAverageOptions } from './seasonal-models.ts';
import { WEEK, forecastDoubleSeasonal, forecastMedianYearOverYear, forecastSeasonalNaive, forecastWeekAverage } from './seasonal-models.ts';
import type { TransformName } from './transforms.ts';

export interface CandidateModel {
  /** Model id without the transform, e.g. `median-5w`. */
  model: string;
  /** Family, for keeping combinations diverse. */
  family: 'snaive' | 'week-average' | 'double-seasonal' | 'mstl-ets';
  forecaster: Forecaster;
  /** Transforms this model is tried with. */
  transforms: readonly TransformName[];
}

export const SEASONAL_NAIVE = 'snaive';

const ALL: readonly TransformName[] = ['none', 'log1p', 'boxcox'];

function weekAverage(model: string, o: WeekAverageOptions, transforms: readonly TransformName[] = ALL): CandidateModel {
  return { model, family: 'week-average', forecaster: (z, h) => forecastWeekAverage(z, h, o), transforms };
}

/** Every candidate model with the transforms it is tried with. */
export function getCandidateModels(): CandidateModel[] {
  return [
    { model: SEASONAL_NAIVE, family: 'snaive', forecaster: (z, h) => (z.length >= WEEK ? forecastSeasonalNaive(z, WEEK, h) : undefined), transforms: ['none'] },
    weekAverage('snaive-day-level', { kind: 'mean', weeks: 1, dayLevelDecay: 0.995 }),
    weekAverage('mean-2w', { kind: 'mean', weeks: 2 }),
    weekAverage('mean-2w-day-level', { kind: 'mean', weeks: 2, dayLevelDecay: 0.995 }),
    weekAverage('mean-3w', { kind: 'mean', weeks: 3 }),
    weekAverage('mean-4w', { kind: 'mean', weeks: 4 }),
    weekAverage('mean-4w-level', { kind: 'mean', weeks: 4, levelAdjust: true }),
    weekAverage('median-3w', { kind: 'median', weeks: 3 }),
    weekAverage('median-5w', { kind: 'median', weeks: 5 }),
    weekAverage('median-5w-level', { kind: 'median', weeks: 5, levelAdjust: true }),
    weekAverage('ewma-6w', { kind: 'ewma', weeks: 6, decay: 0.6 }),
    weekAverage('ewma-6w-level', { kind: 'ewma', weeks: 6, decay: 0.6, levelAdjust: true }),
    // Multiplicative levels, on the raw scale only (on log(1 + y) they are the additive `-level` ones):
    // weather-driven series and growing ones (see the README's forecasting section for the figures).
    weekAverage('median-5w-scaled', { kind: 'median', weeks: 5, scaleToLastWeek: true }, ['none']),
    weekAverage('median-5w-growth', { kind: 'median', weeks: 5, scaleToLastWeek: true, growthWeeks: 3 }, ['none']),
    // Last year's turn of the season, half of it (√ of last year's ratio: the full ratio carries last
    // year's noise too). Needs a year and a week of history: undefined before, so short series keep
    // the same candidates.
    { model: 'median-5w-yoy', family: 'week-average', forecaster: (z, h) => forecastMedianYearOverYear(z, h, { exponent: 0.5 }), transforms: ['none'] },
    { model: 'dshw-damped', family: 'double-seasonal', forecaster: forecastDoubleSeasonal, transforms: ALL },
    { model: 'mstl-ets', family: 'mstl-ets', forecaster: forecastMstlEts, transforms: ['log1p'] },
  ];
}
