/**
 * Public holidays by country from `date-holidays` (kept calendar data for ~200 countries), as a
 * predicate on hour starts read in the shop's time zone, and the holiday effect learned from the
 * history: per hour of day, the median over past holidays of log(1 + actual) minus what the median
 * of the same hour over the 5 weeks before would have forecast.
 */
import Holidays from 'date-holidays';
import { ScalingInputError, quoteInput } from '../errors.ts';
import { WEEK, forecastWeekAverage } from './seasonal-models.ts';
import { getLocalTime } from './time-zone.ts';

/** True when the hour starting at `ms` lies on a public holiday. */
export type HolidayPredicate = (ms: number) => boolean;

/** Public holidays of `country` (ISO 3166 code, e.g. `US`, `GB`, `DE-BY`) in the shop time zone. */
export function createHolidayPredicate(country: string, timeZone = 'UTC'): HolidayPredicate {
  // country[-state[-region]]: a region was ignored before (DE-BY-A read as DE-BY, DE-BY-XYZ accepted).
  const parts = country.split('-').map((part) => part.toUpperCase());
  const [code, state, region] = parts;
  const hd = new Holidays();
  const known =
    parts.length <= 3 &&
    Object.hasOwn(hd.getCountries() ?? {}, code) &&
    (state === undefined || Object.hasOwn(hd.getStates(code) ?? {}, state)) &&
    (region === undefined || Object.hasOwn(hd.getRegions(code, state) ?? {}, region));
  if (!known) throw new ScalingInputError('INVALID_OPTION', `--country: unknown country ${quoteInput(country)} (ISO 3166 code, e.g. US, GB, DE or DE-BY)`);
  hd.init(code, state, region);
  const byYear = new Map<number, Set<string>>();
  return (ms) => {
    const l = getLocalTime(new Date(ms), timeZone);
    let days = byYear.get(l.year);
    if (!days) {
      days = new Set(hd.getHolidays(l.year).filter((h) => h.type === 'public').map((h) => h.date.slice(0, 10)));
      byYear.set(l.year, days);
    }
    return days.has(`${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}`);
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The history's calendar: when hour 0 starts and which hours are holidays. */
export interface SeriesCalendar {
  startMs: number;
  isHoliday: HolidayPredicate;
  /**
   * The UTC hour, counted from `startMs`, that hour `index` of the series (or of the forecast after it)
   * stands for, where they differ: on the wall clock (`viewOnWallClock`) an index counts local hours, and
   * after a clock change it is no longer the UTC hour of the same number (`mapCalendarHours`).
   * @defaultValue the index itself
   */
  getUtcHour?: (index: number) => number;
}

/** Whether hour `index` of the series (past its end: of the forecast) lies on a public holiday. */
export function isHolidayHour(calendar: SeriesCalendar, index: number): boolean {
  return calendar.isHoliday(calendar.startMs + (calendar.getUtcHour ? calendar.getUtcHour(index) : index) * 3_600_000);
}

/**
 * The calendar of a series whose hour `index` is hour `toHour(index)` of the calendar's series (the last
 * weeks of it, the same hours on the wall clock), `startMs` moved to the start of its hour 0.
 */
export function mapCalendarHours(calendar: SeriesCalendar, toHour: (index: number) => number): SeriesCalendar {
  const { getUtcHour = (index: number) => index } = calendar;
  const first = getUtcHour(toHour(0));
  return { ...calendar, startMs: calendar.startMs + first * 3_600_000, getUtcHour: (index) => getUtcHour(toHour(index)) - first };
}

/**
 * Holiday effect (24 values, log scale, by hour index mod 24 from the series start) learned from the
 * holidays inside `y`, or undefined when fewer than `minHolidays` whole holiday days lie there.
 */
export function learnHolidayEffect(y: readonly number[], calendar: SeriesCalendar, minHolidays = 2): number[] | undefined {
  const z = y.map((v) => Math.log1p(v));
  const byHour: number[][] = Array.from({ length: 24 }, () => []);
  let days = 0;
  for (let d = 2 * WEEK; d + 24 <= y.length; d += 24) {
    if (!isHolidayHour(calendar, d + 12)) continue;
    const base = forecastWeekAverage(z.slice(0, d), 24, { kind: 'median', weeks: 5 });
    if (!base) continue;
    days++;
    for (let i = 0; i < 24; i++) byHour[(d + i) % 24].push(z[d + i] - base[i]);
  }
  if (days < minHolidays) return undefined;
  return byHour.map((v) => (v.length > 0 ? median(v) : 0));
}

/** Applies the effect to forecast hours (index `first + i` from the series start) that are holidays. */
export function applyHolidayEffect(forecast: readonly number[], first: number, effect: readonly number[], calendar: SeriesCalendar): number[] {
  return forecast.map((v, i) => {
    const index = first + i;
    return isHolidayHour(calendar, index) ? Math.max(0, Math.expm1(Math.log1p(v) + effect[index % 24])) : v;
  });
}
