/**
 * Sale events (the catalog's `sale_events` rows, a JSON file, or the built-in calendar) and the
 * traffic multiplier they put on top of the base forecast.
 */
// The plain limits file, not the module's index.ts: that loads the module's service, drizzle and tables, which
// this calculator needs none of (the file exists for such importers: sale-events.limits.ts).
import { MAX_TRAFFIC_MULTIPLIER, MIN_TRAFFIC_MULTIPLIER } from '../../modules/sale-events/sale-events.limits.ts';
import { ScalingInputError, parseDate, quoteInput } from '../errors.ts';

/**
 * How traffic moves through an event: linear ramp from ×1 to the multiplier after `startsAt`,
 * the multiplier (peak) in between, linear decay back to ×1 before `endsAt`. An event shorter than
 * ramp + decay has both shortened in proportion to fit it, so that it still reaches the multiplier.
 */
export interface SaleEventShape {
  /** Minutes from ×1 to the full multiplier. A flash sale reaches it in minutes. @defaultValue 15 */
  rampUpMinutes: number;
  /** Minutes from the full multiplier back to ×1, ending at `endsAt`. @defaultValue 60 */
  decayMinutes: number;
}

export const DEFAULT_EVENT_SHAPE: SaleEventShape = { rampUpMinutes: 15, decayMinutes: 60 };

/** A validated sale event. */
export interface SaleEvent {
  name: string;
  startsAt: Date;
  endsAt: Date;
  /** Factor on the base traffic at the peak (≥ 1 for a sale). */
  trafficMultiplier: number;
  shape: SaleEventShape;
  /** Kind for learned uplift (default: the name as a slug, e.g. `black-friday`). */
  kind?: string;
  /** Learned multiplier by hour from the start (replaces the ramp/peak/decay shape). */
  curve?: readonly number[];
  /** Where the multiplier comes from (seed, file, database, learned from past events). */
  source?: string;
}

/**
 * A sale event as the database or a file gives it (pg returns `numeric` as a string and
 * timestamps as Date; a file gives ISO strings).
 */
export interface SaleEventInput {
  name: string;
  startsAt: string | Date;
  endsAt: string | Date;
  trafficMultiplier: number | string;
  /** @defaultValue 15 */
  rampUpMinutes?: number;
  /** @defaultValue 60 */
  decayMinutes?: number;
}

function toDate(value: string | Date, field: string): Date {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ScalingInputError('INVALID_DATE', `${field} is an invalid date`, { field });
    return value;
  }
  return parseDate(String(value), field);
}

function isMinutes(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * Validates event inputs: dates must parse and end after start; multipliers must be from MIN_TRAFFIC_MULTIPLIER to
 * MAX_TRAFFIC_MULTIPLIER, the range the sale_events API and table take, so that a file plans no sale the shop could
 * not enter (a file took up to 10,000; without a bound ×1e308 made every rate Infinity).
 */
export function parseSaleEvents(inputs: SaleEventInput[]): SaleEvent[] {
  return inputs.map((input, i) => {
    const where = `event ${i + 1} (${input.name ?? 'unnamed'})`;
    const startsAt = toDate(input.startsAt, `${where} startsAt`);
    const endsAt = toDate(input.endsAt, `${where} endsAt`);
    if (endsAt.getTime() <= startsAt.getTime()) {
      throw new ScalingInputError('INVALID_DATE', `${where}: endsAt (${endsAt.toISOString()}) is not after startsAt (${startsAt.toISOString()})`);
    }
    // A number, or the string pg gives for numeric: `Number()` also read true as 1 and [5] as 5.
    const raw = input.trafficMultiplier as unknown;
    const multiplier = typeof raw === 'number' || (typeof raw === 'string' && raw.trim() !== '') ? Number(raw) : Number.NaN;
    if (!Number.isFinite(multiplier)) {
      throw new ScalingInputError('INVALID_OPTION', `${where}: trafficMultiplier ${quoteInput(typeof raw === 'object' && raw !== null ? JSON.stringify(raw) : String(raw))} is not a number`);
    }
    if (!(multiplier >= MIN_TRAFFIC_MULTIPLIER && multiplier <= MAX_TRAFFIC_MULTIPLIER)) {
      throw new ScalingInputError('INVALID_OPTION', `${where}: trafficMultiplier must be from ${MIN_TRAFFIC_MULTIPLIER} to ${MAX_TRAFFIC_MULTIPLIER}, as the sale_events API takes it (got ${multiplier})`);
    }
    const rampUpMinutes = input.rampUpMinutes ?? DEFAULT_EVENT_SHAPE.rampUpMinutes;
    const decayMinutes = input.decayMinutes ?? DEFAULT_EVENT_SHAPE.decayMinutes;
    // A string or an object compared false with 0 and passed: the ramp then silently counted as none.
    if (!isMinutes(rampUpMinutes) || !isMinutes(decayMinutes)) {
      throw new ScalingInputError('INVALID_OPTION', `${where}: rampUpMinutes and decayMinutes must be numbers ≥ 0 (got ${quoteInput(input.rampUpMinutes)} and ${quoteInput(input.decayMinutes)})`);
    }
    return { name: String(input.name), startsAt, endsAt, trafficMultiplier: multiplier, shape: { rampUpMinutes, decayMinutes } };
  });
}

/**
 * Most events an events file (JSON or CSV) holds. Every minute the commands forecast looks at every event, so
 * the time grows with their count: 200,000 ran for minutes. A thousand is nearly three sales a day for a year.
 */
export const MAX_FILE_SALE_EVENTS = 1000;

/** Parses a JSON file: an array of {@link SaleEventInput} (or `{ "events": [...] }`). */
export function parseSaleEventsJson(text: string, source = 'events file'): SaleEvent[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ScalingInputError('MALFORMED_FILE', `${source} is not valid JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(data) ? data : (data as { events?: unknown })?.events;
  if (!Array.isArray(list)) throw new ScalingInputError('MALFORMED_FILE', `${source} must hold an array of events`);
  if (list.length > MAX_FILE_SALE_EVENTS) throw new ScalingInputError('MALFORMED_FILE', `${source} holds ${list.length} events; at most ${MAX_FILE_SALE_EVENTS} are taken`);
  const notObject = list.findIndex((item) => item === null || typeof item !== 'object' || Array.isArray(item));
  if (notObject >= 0) throw new ScalingInputError('MALFORMED_FILE', `${source}: event ${notObject + 1} is not an object ({name, startsAt, endsAt, trafficMultiplier})`);
  // Without one, the event was listed as "undefined".
  const unnamed = list.findIndex((item: { name?: unknown }) => typeof item.name !== 'string' || item.name.trim() === '');
  if (unnamed >= 0) throw new ScalingInputError('MALFORMED_FILE', `${source}: event ${unnamed + 1} has no name (a non-empty string)`);
  return parseSaleEvents(list as SaleEventInput[]);
}

/** Multiplier of one event at `t` (1 outside it). */
export function getEventMultiplierOf(event: SaleEvent, t: number): number {
  const start = event.startsAt.getTime();
  const end = event.endsAt.getTime();
  if (t < start || t >= end) return 1;
  if (event.curve) return event.curve[Math.floor((t - start) / 3_600_000)] ?? 1;
  const m = event.trafficMultiplier;
  // A sale shorter than its ramp and decay together gets both shortened in proportion, so that it still reaches
  // its multiplier (once): taken as they are, they crossed below it (30 min with 15 + 60 peaked at ×4.6 of ×10).
  const shapeMs = (event.shape.rampUpMinutes + event.shape.decayMinutes) * 60_000;
  const fit = shapeMs > end - start ? (end - start) / shapeMs : 1;
  const rampMs = event.shape.rampUpMinutes * 60_000 * fit;
  const decayMs = event.shape.decayMinutes * 60_000 * fit;
  let f = 1;
  if (rampMs > 0) f = Math.min(f, (t - start) / rampMs);
  if (decayMs > 0) f = Math.min(f, (end - t) / decayMs);
  return 1 + (m - 1) * Math.max(0, Math.min(1, f));
}

/**
 * `getEventMultiplier` for instants read mostly in order (a forecast's minutes, a simulation's steps): each looks only at
 * the events overlapping its hour, found once per hour, not at every event of the file (up to `MAX_FILE_SALE_EVENTS`).
 */
export function createEventMultiplierLookup(events: readonly SaleEvent[]): (t: number) => number {
  let hour = Number.NaN;
  let active: readonly SaleEvent[] = [];
  return (t) => {
    const h = Math.floor(t / 3_600_000) * 3_600_000;
    if (h !== hour) {
      hour = h;
      active = events.filter((e) => e.startsAt.getTime() < h + 3_600_000 && e.endsAt.getTime() > h);
    }
    return getEventMultiplier(active, t);
  };
}

/** Multiplier at `t` (ms since epoch): the strongest of the overlapping events, 1 if none. */
export function getEventMultiplier(events: readonly SaleEvent[], t: number): number {
  let best = 1;
  let any = false;
  for (const e of events) {
    const m = getEventMultiplierOf(e, t);
    if (t >= e.startsAt.getTime() && t < e.endsAt.getTime()) {
      best = any ? Math.max(best, m) : m;
      any = true;
    }
  }
  return best;
}
