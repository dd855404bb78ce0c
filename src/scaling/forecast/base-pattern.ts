/**
 * The seed strategy's weekly traffic pattern (day of week × hour multipliers), read as a step
 * function: each listed multiplier holds from its hour until the next listed hour. The seed's own
 * lookup returned 1.0 for every unlisted hour (e.g. Monday 03:00 got 1.0 instead of 0.2); that bug
 * is not reproduced.
 */
import { ScalingInputError } from '../errors.ts';

/** Listed `[hour, multiplier]` breakpoints of one day, ascending by hour. */
export type DayPattern = ReadonlyArray<readonly [number, number]>;

/** Seven day patterns, index 0 = Sunday. */
export type WeeklyPattern = readonly [DayPattern, DayPattern, DayPattern, DayPattern, DayPattern, DayPattern, DayPattern];

/** `PredictiveScaling.getBaseTrafficMultiplier` of the seed strategy. */
export const SEED_BASE_PATTERN: WeeklyPattern = [
  [[0, 0.3], [6, 0.5], [12, 0.7], [18, 1.2], [21, 0.8]], // Sunday
  [[0, 0.2], [9, 1.0], [12, 1.3], [17, 1.5], [21, 0.6]], // Monday
  [[0, 0.2], [9, 1.1], [12, 1.4], [17, 1.4], [21, 0.6]], // Tuesday
  [[0, 0.2], [9, 1.1], [12, 1.4], [17, 1.4], [21, 0.6]], // Wednesday
  [[0, 0.2], [9, 1.2], [12, 1.5], [17, 1.6], [21, 0.7]], // Thursday
  [[0, 0.3], [10, 1.3], [14, 1.6], [19, 1.8], [22, 1.0]], // Friday
  [[0, 0.4], [10, 1.1], [14, 1.3], [18, 1.4], [21, 0.9]], // Saturday
];

/**
 * Multiplier in force at `hour` (0–23) of `dayOfWeek` (0 = Sunday). Hours before a day's first
 * breakpoint hold the previous day's last value.
 */
export function getBaseMultiplier(pattern: WeeklyPattern, dayOfWeek: number, hour: number): number {
  for (let back = 0; back < 7; back++) {
    const day = pattern[(dayOfWeek - back + 7) % 7];
    let value: number | undefined;
    for (const [h, m] of day) if (back > 0 || h <= hour) value = m;
    if (value !== undefined) return value;
  }
  throw new ScalingInputError('INVALID_OPTION', 'traffic pattern lists no hour at all');
}

/** Mean multiplier over the 168 hours of the week (used to scale learned series to the pattern). */
export function getWeeklyMean(pattern: WeeklyPattern): number {
  let sum = 0;
  for (let d = 0; d < 7; d++) for (let h = 0; h < 24; h++) sum += getBaseMultiplier(pattern, d, h);
  return sum / 168;
}
