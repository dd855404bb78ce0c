/**
 * The demand forecast: base traffic (seed pattern or a learned hourly model) × sale events.
 */
import { ScalingInputError, requirePositive } from '../errors.ts';
import type { WeeklyPattern } from './base-pattern.ts';
import { SEED_BASE_PATTERN, getBaseMultiplier } from './base-pattern.ts';
import type { SaleEvent } from './events.ts';
import { createEventMultiplierLookup } from './events.ts';
import { getLocalTime } from './time-zone.ts';

/** Inputs of a forecast. */
export interface ForecastOptions {
  /** Requests per second at multiplier 1.0 of the base pattern. @defaultValue 100 */
  baseRequestsPerSecond: number;
  /** Shop time zone in which the pattern's days and hours are read. @defaultValue 'UTC' */
  timeZone: string;
  /** @defaultValue SEED_BASE_PATTERN */
  pattern: WeeklyPattern;
  /** Sale events layered on top. @defaultValue [] */
  events: readonly SaleEvent[];
  /**
   * Learned base traffic (requests/s per hour start, ms since epoch) replacing pattern × base rate
   * for the hours it covers.
   */
  learnedBase?: ReadonlyMap<number, number>;
}

export const DEFAULT_FORECAST_OPTIONS: ForecastOptions = {
  baseRequestsPerSecond: 100,
  timeZone: 'UTC',
  pattern: SEED_BASE_PATTERN,
  events: [],
};

/** Demand curve: requests/s at an instant (ms since epoch). */
export type DemandCurve = (t: number) => number;

const HOUR_MS = 3_600_000;

export function getBaseRequestsPerSecond(opts: ForecastOptions, t: number): number {
  const learned = opts.learnedBase?.get(Math.floor(t / HOUR_MS) * HOUR_MS);
  if (learned !== undefined) return learned;
  const l = getLocalTime(new Date(t), opts.timeZone);
  return opts.baseRequestsPerSecond * getBaseMultiplier(opts.pattern, l.dayOfWeek, l.hour);
}

/** Builds the demand curve: base(t) × strongest event multiplier at t. */
export function createDemandCurve(options: Partial<ForecastOptions> = {}): DemandCurve {
  const opts = { ...DEFAULT_FORECAST_OPTIONS, ...options };
  requirePositive(opts.baseRequestsPerSecond, 'baseRequestsPerSecond');
  const eventAt = createEventMultiplierLookup(opts.events);
  return (t) => getBaseRequestsPerSecond(opts, t) * eventAt(t);
}

/** One forecast hour. */
export interface ForecastHour {
  /** Hour start (UTC ISO). */
  hour: string;
  baseRequestsPerSecond: number;
  /** Peak event multiplier in the hour (1 = no event). */
  eventMultiplier: number;
  /** Mean over the hour (sampled each minute). */
  meanRequestsPerSecond: number;
  peakRequestsPerSecond: number;
  requestsInHour: number;
}

/** Hourly forecast over [from, to). */
export function forecastHourly(options: Partial<ForecastOptions>, from: Date, to: Date): ForecastHour[] {
  const opts = { ...DEFAULT_FORECAST_OPTIONS, ...options };
  if (to.getTime() <= from.getTime()) {
    throw new ScalingInputError('INVALID_DATE', `forecast end ${to.toISOString()} is not after its start ${from.toISOString()}`);
  }
  requirePositive(opts.baseRequestsPerSecond, 'baseRequestsPerSecond');
  const eventAt = createEventMultiplierLookup(opts.events);
  const out: ForecastHour[] = [];
  for (let h = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS; h < to.getTime(); h += HOUR_MS) {
    let sum = 0;
    let peak = 0;
    let peakEvent = 1;
    for (let m = 0; m < 60; m++) {
      const t = h + m * 60_000;
      const event = eventAt(t);
      const d = getBaseRequestsPerSecond(opts, t) * event;
      sum += d;
      peak = Math.max(peak, d);
      peakEvent = Math.max(peakEvent, event);
    }
    out.push({
      hour: new Date(h).toISOString(),
      baseRequestsPerSecond: getBaseRequestsPerSecond(opts, h),
      eventMultiplier: peakEvent,
      meanRequestsPerSecond: sum / 60,
      peakRequestsPerSecond: peak,
      requestsInHour: (sum / 60) * 3600,
    });
  }
  return out;
}
