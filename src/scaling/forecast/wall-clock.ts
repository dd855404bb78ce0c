/**
 * A shop's traffic follows its wall clock, but its history is kept in UTC hours. Where the clock changes
 * (daylight saving time), the daily pattern moves by an hour in UTC, and for weeks after it every weekly
 * model (the same hour one or more weeks back) compares hours an hour apart on the ramps. With the shop's
 * time zone, the models run on the wall clock instead: the series gets one value per local clock hour
 * (the hour skipped in spring interpolated, the hour repeated in autumn averaged), and the forecast made
 * there is read back for each UTC hour.
 */
import { getLocalTime } from './time-zone.ts';

const HOUR_MS = 3_600_000;

function getWallMs(t: number, timeZone: string): number {
  const l = getLocalTime(new Date(t), timeZone);
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute);
}

/**
 * The wall-clock hour of each of `hours` UTC hours from `startMs`, counted from the first one's: 0, 1, 2, …
 * with a step of 2 where the clock skips an hour and of 0 where it repeats one. In UTC, or in a zone
 * without clock changes in the span, it is 0, 1, 2, … throughout.
 */
export function getWallClockIndex(startMs: number, hours: number, timeZone: string): number[] {
  const index = new Array<number>(hours);
  if (hours === 0) return index;
  const first = getWallMs(startMs, timeZone);
  // The offset changes a few times a year: read it once a day, and hour by hour only across a change.
  let i = 0;
  while (i < hours) {
    const end = Math.min(hours, i + 24);
    const a = getWallMs(startMs + i * HOUR_MS, timeZone) - (startMs + i * HOUR_MS);
    const b = getWallMs(startMs + (end - 1) * HOUR_MS, timeZone) - (startMs + (end - 1) * HOUR_MS);
    for (let j = i; j < end; j++) {
      const t = startMs + j * HOUR_MS;
      const offset = a === b ? a : getWallMs(t, timeZone) - t;
      index[j] = Math.round((t + offset - first) / HOUR_MS);
    }
    i = end;
  }
  return index;
}

/** The wall-clock index of `hours` UTC hours from `startMs`; undefined in UTC or where the clock does not change. */
export function getWallClock(startMs: number, hours: number, timeZone: string | undefined): number[] | undefined {
  if (!timeZone || timeZone === 'UTC' || hours === 0) return undefined;
  const index = getWallClockIndex(startMs, hours, timeZone);
  return index.some((v, i) => v !== i) ? index : undefined;
}

/**
 * The series on the wall clock: values of UTC hours that share a local hour are averaged; a local hour
 * with no UTC hour (the one skipped in spring) is interpolated between its neighbours.
 */
export function toWallClock(y: readonly number[], index: readonly number[]): number[] {
  if (y.length === 0) return [];
  const n = index[y.length - 1] + 1;
  const sum = new Array<number>(n).fill(0);
  const count = new Array<number>(n).fill(0);
  for (let i = 0; i < y.length; i++) {
    sum[index[i]] += y[i];
    count[index[i]]++;
  }
  const out = sum.map((s, j) => (count[j] > 0 ? s / count[j] : Number.NaN));
  for (let j = 0; j < n; j++) {
    if (!Number.isNaN(out[j])) continue;
    const before = out[j - 1];
    let k = j + 1;
    while (Number.isNaN(out[k])) k++;
    out[j] = before + (out[k] - before) / (k - j + 1);
  }
  return out;
}

/** A series and a horizon as the models see them, and the way back to UTC hours. */
export interface WallClockView {
  y: number[];
  /** Hours to forecast after `y`. */
  horizon: number;
  /** A forecast of `horizon` hours after `y`, read for each of the UTC hours ahead. */
  toUtc(forecast: readonly number[]): number[];
  /**
   * The UTC hour (index from the clock's first) of hour `index` of `y` or of the horizon after it: the
   * first UTC hour inside that local hour; for the hour skipped in spring, the hour after it (the one on
   * the same local date, even where the clock skips midnight).
   */
  toUtcHour(index: number): number;
}

/**
 * `y` (the UTC hours from the clock's first) and the `horizon` UTC hours after it, on the wall clock
 * (`clock` from `getWallClock`, covering both); without a clock, as they are. A UTC hour that repeats
 * the history's last local hour (the history ends inside the hour repeated in autumn) reads the next one.
 */
export function viewOnWallClock(y: readonly number[], horizon: number, clock: readonly number[] | undefined): WallClockView {
  if (!clock) return { y: [...y], horizon, toUtc: (forecast) => forecast.slice(0, horizon), toUtcHour: (index) => index };
  const local = toWallClock(y, clock.slice(0, y.length));
  const future = clock.slice(y.length, y.length + horizon);
  const last = clock[clock.length - 1];
  const firstUtcHour = new Array<number>(last + 1).fill(-1);
  for (let i = clock.length - 1; i >= 0; i--) firstUtcHour[clock[i]] = i;
  for (let j = last - 1; j >= 0; j--) if (firstUtcHour[j] < 0) firstUtcHour[j] = firstUtcHour[j + 1];
  return {
    y: local,
    horizon: Math.max(1, future[future.length - 1] - local.length + 1),
    toUtc: (forecast) => future.map((j) => forecast[Math.max(0, j - local.length)]),
    toUtcHour: (index) => (index <= last ? firstUtcHour[index] : clock.length - 1 + index - last),
  };
}
