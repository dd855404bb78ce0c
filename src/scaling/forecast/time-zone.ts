/** Wall-clock helpers for an IANA time zone, on top of Intl (no dependency). */
import { ScalingInputError } from '../errors.ts';

/** Local calendar fields of an instant. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday. */
  dayOfWeek: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function getFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        weekday: 'short',
      });
    } catch {
      throw new ScalingInputError('INVALID_OPTION', `unknown time zone "${timeZone}"`, { timeZone });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

export function getLocalTime(date: Date, timeZone = 'UTC'): LocalTime {
  if (timeZone === 'UTC') {
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      dayOfWeek: date.getUTCDay(),
    };
  }
  const parts: Record<string, string> = {};
  for (const p of getFormatter(timeZone).formatToParts(date)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    dayOfWeek: WEEKDAYS[parts.weekday],
  };
}

/** The instant at which the wall clock in `timeZone` shows the given local time. */
export function getInstantOfLocalTime(year: number, month: number, day: number, hour: number, timeZone = 'UTC'): Date {
  const wanted = Date.UTC(year, month - 1, day, hour);
  let guess = wanted;
  for (let i = 0; i < 3; i++) {
    const l = getLocalTime(new Date(guess), timeZone);
    const shown = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute);
    if (shown === wanted) break;
    guess += wanted - shown;
  }
  return new Date(guess);
}
