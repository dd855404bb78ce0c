/** Turns CLI options into toolkit inputs: time window, events, learned base traffic, capacity. */
import { readFile } from 'node:fs/promises';
import { ScalingInputError, parseDate, requirePositive } from './errors.ts';
import { resolveCapacity } from './capacity/bench-capacity.ts';
import type { CalendarEventId } from './forecast/calendar.ts';
import { CALENDAR_EVENT_IDS, getCalendarEvent, getSeedCalendarEvents } from './forecast/calendar.ts';
import type { HourlyPoint } from './forecast/csv.ts';
import { parseHourlyCsv } from './forecast/csv.ts';
import type { SaleEvent, SaleEventInput } from './forecast/events.ts';
import { parseSaleEvents, parseSaleEventsJson } from './forecast/events.ts';
import type { ForecastOptions } from './forecast/forecast.ts';
import { fitLogHoltWinters, forecastLogHoltWinters } from './forecast/holt-winters.ts';

/** Optional data sources injected by the main CLI (database access lives outside the toolkit). */
export interface ScalingCliDeps {
  /** The catalog's sale_events rows. */
  loadSaleEvents?: () => Promise<SaleEventInput[]>;
  /** The analytics rollups' hourly request counts. */
  loadHourlyHistory?: () => Promise<HourlyPoint[]>;
}

/** Options shared by forecast, plan, simulate and cost. */
export interface CommonOptions {
  from?: string;
  to?: string;
  year?: string;
  event: string;
  eventsFile?: string;
  db: boolean;
  tz: string;
  baseRps: string;
  history?: string;
  learn?: boolean;
  capacity?: string;
  bench?: string;
  min: string;
  max: string;
  targetUtil: string;
  json?: boolean;
  out?: string;
  progress: boolean;
}

export function toNumber(value: string, field: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new ScalingInputError('INVALID_OPTION', `${field}: "${value}" is not a number`, { field, value });
  return n;
}

function getYear(o: CommonOptions): number {
  if (o.year !== undefined) {
    const y = toNumber(o.year, '--year');
    if (!Number.isInteger(y) || y < 1970 || y > 2200) throw new ScalingInputError('INVALID_DATE', `--year: "${o.year}" is not a year`);
    return y;
  }
  return o.from ? parseDate(o.from, '--from').getUTCFullYear() : new Date().getUTCFullYear();
}

function parseEventId(value: string): CalendarEventId {
  if ((CALENDAR_EVENT_IDS as readonly string[]).includes(value)) return value as CalendarEventId;
  throw new ScalingInputError('INVALID_OPTION', `--event: unknown event "${value}" (known: ${CALENDAR_EVENT_IDS.join(', ')})`);
}

/** Events: a file beats the database, which beats the built-in calendar. */
export async function resolveEvents(o: CommonOptions, deps: ScalingCliDeps): Promise<{ events: SaleEvent[]; source: string }> {
  if (o.eventsFile) {
    let text: string;
    try {
      text = await readFile(o.eventsFile, 'utf8');
    } catch {
      throw new ScalingInputError('MALFORMED_FILE', `--events-file ${o.eventsFile} cannot be read`);
    }
    return { events: parseSaleEventsJson(text, o.eventsFile), source: o.eventsFile };
  }
  if (o.db && deps.loadSaleEvents) {
    const rows = await deps.loadSaleEvents();
    if (rows.length > 0) return { events: parseSaleEvents(rows), source: 'database (sale_events)' };
  }
  const year = getYear(o);
  const tz = o.tz;
  return { events: [...getSeedCalendarEvents(year - 1, tz), ...getSeedCalendarEvents(year, tz)], source: `built-in calendar ${year} (Black Friday ×10, Cyber Monday ×8, Christmas sale ×5)` };
}

/** The window: --from/--to, else the chosen event's day with the 3 hours before it. */
export function resolveWindow(o: CommonOptions, events: readonly SaleEvent[]): { from: Date; to: Date; focus?: SaleEvent } {
  const id = parseEventId(o.event);
  const calendar = getCalendarEvent(id, getYear(o), o.tz);
  const focus = events.find((e) => e.name === calendar.name && e.startsAt.getUTCFullYear() === calendar.startsAt.getUTCFullYear()) ?? calendar;
  const from = o.from ? parseDate(o.from, '--from') : new Date(focus.startsAt.getTime() - 3 * 3_600_000);
  const to = o.to ? parseDate(o.to, '--to') : focus.endsAt;
  if (to.getTime() <= from.getTime()) throw new ScalingInputError('INVALID_DATE', `--to (${to.toISOString()}) must be after --from (${from.toISOString()})`);
  if (to.getTime() - from.getTime() > 45 * 86_400_000) throw new ScalingInputError('INVALID_OPTION', 'the window is limited to 45 days');
  return { from, to, focus };
}

export async function loadHistory(o: { history?: string; learn?: boolean }, deps: ScalingCliDeps): Promise<HourlyPoint[] | undefined> {
  if (o.history) {
    let text: string;
    try {
      text = await readFile(o.history, 'utf8');
    } catch {
      throw new ScalingInputError('MALFORMED_CSV', `--history ${o.history} cannot be read`);
    }
    return parseHourlyCsv(text, o.history);
  }
  if (o.learn) {
    if (!deps.loadHourlyHistory) throw new ScalingInputError('INVALID_OPTION', '--learn needs the database (run through the main CLI) or use --history <csv>');
    return deps.loadHourlyHistory();
  }
  return undefined;
}

/** Learned base traffic (requests/s per hour) for hours after the history, from Holt-Winters m = 168. */
export function learnBase(history: readonly HourlyPoint[], to: Date): Map<number, number> {
  const last = history[history.length - 1].hour.getTime();
  const horizon = Math.ceil((to.getTime() - last) / 3_600_000);
  const map = new Map<number, number>();
  if (horizon <= 0) return map;
  const model = fitLogHoltWinters(history.map((p) => p.requests));
  const values = forecastLogHoltWinters(model, horizon);
  for (let i = 0; i < values.length; i++) map.set(last + (i + 1) * 3_600_000, values[i] / 3600);
  return map;
}

export async function resolveForecast(o: CommonOptions, deps: ScalingCliDeps) {
  const { events, source } = await resolveEvents(o, deps);
  const { from, to, focus } = resolveWindow(o, events);
  const history = await loadHistory(o, deps);
  const forecast: Partial<ForecastOptions> = {
    baseRequestsPerSecond: requirePositive(toNumber(o.baseRps, '--base-rps'), '--base-rps'),
    timeZone: o.tz,
    events,
    learnedBase: history ? learnBase(history, to) : undefined,
  };
  return { forecast, from, to, focus, eventSource: source, baseSource: history ? `Holt-Winters (m = 168) on ${history.length} hours of history` : 'seed weekly pattern × --base-rps' };
}

export async function resolveWebCapacity(o: CommonOptions) {
  const cap = await resolveCapacity({ flag: o.capacity !== undefined ? toNumber(o.capacity, '--capacity') : undefined, path: o.bench, fallback: 150 });
  const min = toNumber(o.min, '--min');
  const max = toNumber(o.max, '--max');
  const targetUtilization = toNumber(o.targetUtil, '--target-util') / 100;
  if (min < 0 || max < 1 || min > max) throw new ScalingInputError('INVALID_OPTION', `--min/--max must satisfy 0 ≤ min ≤ max, max ≥ 1 (got ${min}/${max})`);
  if (!(targetUtilization > 0 && targetUtilization <= 1)) throw new ScalingInputError('INVALID_OPTION', `--target-util must be in (0, 100] (got ${o.targetUtil})`);
  return { capacity: cap, web: { minReplicas: min, maxReplicas: max, targetUtilization, sloP95Ms: 500 } };
}
