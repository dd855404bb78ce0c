/**
 * Calendar rules for the seed strategy's sale events, valid for any year (the seed hard-coded 2024).
 */
import type { SaleEventShape, SaleEvent } from './events.ts';
import { DEFAULT_EVENT_SHAPE } from './events.ts';
import { getInstantOfLocalTime } from './time-zone.ts';

/** A local calendar date. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

function addDays(d: CalendarDate, days: number): CalendarDate {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** US Thanksgiving: the fourth Thursday of November. */
export function getThanksgiving(year: number): CalendarDate {
  const firstWeekday = new Date(Date.UTC(year, 10, 1)).getUTCDay();
  const firstThursday = 1 + ((4 - firstWeekday + 7) % 7);
  return { year, month: 11, day: firstThursday + 21 };
}

/** Black Friday: the day after the fourth Thursday of November. */
export function getBlackFriday(year: number): CalendarDate {
  return addDays(getThanksgiving(year), 1);
}

/** Cyber Monday: the Monday after Black Friday. */
export function getCyberMonday(year: number): CalendarDate {
  return addDays(getThanksgiving(year), 4);
}

/** The seed's Christmas sale: 15 December (a fixed-day rule; the seed's 2024 date). */
export function getChristmasSale(year: number): CalendarDate {
  return { year, month: 12, day: 15 };
}

/** Names accepted by `--event`. */
export const CALENDAR_EVENT_IDS = ['black-friday', 'cyber-monday', 'christmas-sale'] as const;
export type CalendarEventId = (typeof CALENDAR_EVENT_IDS)[number];

const RULES: Record<CalendarEventId, { name: string; multiplier: number; date: (y: number) => CalendarDate }> = {
  'black-friday': { name: 'Black Friday', multiplier: 10, date: getBlackFriday },
  'cyber-monday': { name: 'Cyber Monday', multiplier: 8, date: getCyberMonday },
  'christmas-sale': { name: 'Christmas Sale', multiplier: 5, date: getChristmasSale },
};

/** One calendar event as a whole local day [00:00, next 00:00) in `timeZone`. */
export function getCalendarEvent(id: CalendarEventId, year: number, timeZone = 'UTC', shape: SaleEventShape = DEFAULT_EVENT_SHAPE): SaleEvent {
  const rule = RULES[id];
  const d = rule.date(year);
  const next = addDays(d, 1);
  return {
    name: rule.name,
    startsAt: getInstantOfLocalTime(d.year, d.month, d.day, 0, timeZone),
    endsAt: getInstantOfLocalTime(next.year, next.month, next.day, 0, timeZone),
    trafficMultiplier: rule.multiplier,
    shape,
  };
}

/**
 * The year of the next `id` that has not ended at `now` (in `timeZone`): the default sale of every
 * command (forecast, plan, simulate, cost and manifests), so that none of them plans a sale already over.
 * During the sale it is that sale; from the moment it ends, next year's.
 */
export function getNextCalendarEventYear(id: CalendarEventId, now: Date, timeZone = 'UTC'): number {
  const year = now.getUTCFullYear();
  return getCalendarEvent(id, year, timeZone).endsAt.getTime() > now.getTime() ? year : year + 1;
}

/** The seed strategy's three events for `year`: Black Friday ×10, Cyber Monday ×8, Christmas sale ×5. */
export function getSeedCalendarEvents(year: number, timeZone = 'UTC'): SaleEvent[] {
  return CALENDAR_EVENT_IDS.map((id) => getCalendarEvent(id, year, timeZone));
}
