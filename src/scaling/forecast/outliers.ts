/**
 * Outlier cleaning of the models' input (in the spirit of R's `forecast::tsclean`, FPP3 §13.9): a
 * short burst (a flash sale, a bot, an outage to zero) that nothing labelled would otherwise stay in
 * the history, where the week averages, Holt-Winters and ETS carry it into the next weeks' forecasts
 * and the validation folds that see it distort the model choice for weeks.
 *
 * The expectation of hour i is the median of log(1 + y) at the same hour of the week in the up to 5
 * weeks before it (at least 2); its departure is log(1 + y[i]) minus that. An hour is an outlier when
 * its departure, up or down, exceeds both OUTLIER_MADS robust standard deviations of the departures
 * at that hour of the day (1.4826 × MAD, floored at half of the whole series') and a factor of
 * e^OUTLIER_MIN_LOG ≈ 2.5: hub-airport banks and evening peaks move by less than that between days.
 * An hour whose same hour of the day before or after departs the same way is a changed daily pattern
 * (a clock change read in UTC hours, a timetable moved by an hour), not a burst, and is not an outlier.
 * Only bursts are cleaned: outliers with at most BURST_GAP ordinary hours between them form one
 * burst, and a burst is replaced by the expectation only if it lasts at most MAX_BURST_HOURS and
 * ends more than BURST_GAP hours before the end of the series. A level shift lasts longer, or is
 * still going on at the end, and stays: seasonal naive and the level-adjusted models need it.
 *
 * Causal: the expectation and the burst of hour i use only the series passed in, so cleaning the
 * data before a fold's origin looks at nothing after it.
 */
import { WEEK } from './seasonal-models.ts';

/** Robust standard deviations an hour must depart by. */
export const OUTLIER_MADS = 8;
/** Smallest departure on the log(1 + y) scale that is an outlier (a factor of about 2.5). */
export const OUTLIER_MIN_LOG = 0.9;
/** Longest burst (hours from its first outlier to its last) that is cleaned. */
export const MAX_BURST_HOURS = 36;
/** Ordinary hours that may separate the outliers of one burst (a night between two days joins them). */
export const BURST_GAP = 12;
const EXPECTATION_WEEKS = 5;
const MIN_EXPECTATION_WEEKS = 2;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The series with its short bursts replaced by the median of the same hour of the weeks before; `hours`: the hours replaced. */
export function cleanOutliers(y: readonly number[]): { y: number[]; hours: number[] } {
  const n = y.length;
  const start = MIN_EXPECTATION_WEEKS * WEEK;
  if (n <= start) return { y: [...y], hours: [] };
  const z = y.map((v) => Math.log1p(v));
  const expected = new Array<number>(n).fill(0);
  const departure = new Array<number>(n).fill(0);
  const column: number[] = [];
  for (let i = start; i < n; i++) {
    column.length = 0;
    for (let j = 1; j <= EXPECTATION_WEEKS && i - j * WEEK >= 0; j++) column.push(z[i - j * WEEK]);
    expected[i] = median(column);
    departure[i] = z[i] - expected[i];
  }
  const mad = (from: readonly number[]) => 1.4826 * median(from.map(Math.abs));
  const overall = Math.max(mad(departure.slice(start)), 1e-3);
  const byHour = Array.from({ length: 24 }, (_, h) => {
    const own: number[] = [];
    for (let i = start + ((h - (start % 24) + 24) % 24); i < n; i += 24) own.push(departure[i]);
    return Math.max(mad(own), overall / 2);
  });
  const flagged = departure.map((d, i) => i >= start && Math.abs(d) > Math.max(OUTLIER_MADS * byHour[i % 24], OUTLIER_MIN_LOG));
  // The same hour departing the same way on the day before or after is a changed pattern (a clock
  // change read in UTC, a timetable moved by an hour), not a burst: it stays.
  const recurs = (i: number, j: number) => j >= 0 && j < n && flagged[j] && Math.sign(departure[j]) === Math.sign(departure[i]);
  const outlier = flagged.map((f, i) => f && !recurs(i, i - 24) && !recurs(i, i + 24));
  const out = [...y];
  const hours: number[] = [];
  for (let i = start; i < n; i++) {
    if (!outlier[i]) continue;
    let last = i;
    for (let j = i + 1; j < n && j - last <= BURST_GAP + 1; j++) if (outlier[j]) last = j;
    if (last - i + 1 <= MAX_BURST_HOURS && last + BURST_GAP + 1 < n) {
      for (let t = i; t <= last; t++) {
        if (!outlier[t]) continue;
        out[t] = Math.max(0, Math.expm1(expected[t]));
        hours.push(t);
      }
    }
    i = last;
  }
  return { y: out, hours };
}

/** Shortest run of zero hours that can be a gap in the data rather than demand. */
export const MIN_ZERO_RUN_HOURS = 2;
/**
 * Demand the weeks before must expect over a zero run (the sum of its hours' expectations) for the run
 * to be a gap: by Poisson, 20 expected and none seen has a chance of e^−20 ≈ 2·10⁻⁹. A quiet shop's
 * night (El Paso's departures: 2.5 an hour, a quarter of the hours at zero) expects far less.
 */
export const MIN_ZERO_RUN_EXPECTED = 20;

/**
 * The series with its data gaps filled: runs of hours at exactly zero where the weeks before expect
 * demand (an analytics or collector outage, rollups that were never written, a shop taken offline).
 * They are not demand, and unlike a burst they can last days and be still going on at the end: a week of
 * zeros otherwise drags the week averages down for five weeks and widens the quantile band by the fall
 * and rise of the weekly level (a week of zeros in 8 weeks of history: q0.9 at 270 × the mean forecast).
 *
 * An hour's expectation is the median of the same hour over the up to 5 weeks before (at least 2), as
 * observed; inside a run longer than a week, the run's own hours a week back count as filled, so such a
 * run gets the demand before it. A run is a gap when the sum of its expectations reaches
 * MIN_ZERO_RUN_EXPECTED, unless the same hours a week before or a week after it are at zero too (at
 * least half of them): a closure that recurs every week (Sundays, from some week on) is the shop's new
 * pattern, and the week averages learn it as they learn any other. `hours`: the filled hours, which are
 * not observations (model selection leaves them out of its validation scores). It reads only the series
 * given: cleaning the data before a fold's origin looks at nothing after it.
 */
export function fillZeroGaps(y: readonly number[]): { y: number[]; hours: number[] } {
  const out = [...y];
  const hours: number[] = [];
  const start = MIN_EXPECTATION_WEEKS * WEEK;
  const column: number[] = [];
  for (let i = start; i < y.length; i++) {
    if (y[i] !== 0) continue;
    let end = i;
    while (end < y.length && y[end] === 0) end++;
    if (end - i >= MIN_ZERO_RUN_HOURS) {
      let expected = 0;
      // The same hours a week before and a week after the run (outside it), and how many of them are at zero.
      const before = { hours: 0, zero: 0 };
      const after = { hours: 0, zero: 0 };
      for (let t = i; t < end; t++) {
        column.length = 0;
        for (let j = 1; j <= EXPECTATION_WEEKS && t - j * WEEK >= 0; j++) column.push(t - j * WEEK >= i ? out[t - j * WEEK] : y[t - j * WEEK]);
        out[t] = median(column);
        expected += out[t];
        if (t - WEEK < i) {
          before.hours++;
          if (y[t - WEEK] === 0) before.zero++;
        }
        if (t + WEEK >= end && t + WEEK < y.length) {
          after.hours++;
          if (y[t + WEEK] === 0) after.zero++;
        }
      }
      const recurs = (side: { hours: number; zero: number }) => side.hours > 0 && side.zero * 2 >= side.hours;
      if (expected >= MIN_ZERO_RUN_EXPECTED && !recurs(before) && !recurs(after)) for (let t = i; t < end; t++) hours.push(t);
      else for (let t = i; t < end; t++) out[t] = 0;
    }
    i = end - 1;
  }
  return { y: out, hours };
}

/** 1 at each of `hours`, 0 elsewhere: a mask that can go through the same views as the series. */
export function markHours(length: number, hours: readonly number[]): number[] {
  const mask = new Array<number>(length).fill(0);
  for (const t of hours) mask[t] = 1;
  return mask;
}
