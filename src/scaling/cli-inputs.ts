/** Turns CLI options into toolkit inputs: time window, events, learned base traffic, capacity. */
import { MAX_OPTION_MAGNITUDE, ScalingInputError, parseDate, quoteInput } from './errors.ts';
import { type CapacityCheckConfig, loadCapacityCheckConfig } from '../platform/config/config.ts';
import { MIN_CAPACITY_RPS, resolveCapacity } from './capacity/bench-capacity.ts';
import { SEED_DEPLOYMENT_SPEC } from './manifests/deployment-spec.ts';
import { getSpecEngineOptions, getSpecPlanOptions } from './manifests/prescale-plan.ts';
import { readInputFile } from './input-files.ts';
import type { CalendarEventId } from './forecast/calendar.ts';
import { CALENDAR_EVENT_IDS, getCalendarEvent, getNextCalendarEventYear, getSeedCalendarEvents } from './forecast/calendar.ts';
import type { HourlyPoint } from './forecast/csv.ts';
import { parseHourlyCsv } from './forecast/csv.ts';
import type { SaleEvent, SaleEventInput } from './forecast/events.ts';
import { parseSaleEvents, parseSaleEventsJson } from './forecast/events.ts';
import type { ForecastOptions } from './forecast/forecast.ts';
import { requireWeeklyHistory } from './forecast/model-selection.ts';
import { forecastHistory } from './forecast/pipeline.ts';
import type { SeriesCalendar } from './forecast/holidays.ts';
import { createHolidayPredicate } from './forecast/holidays.ts';
import { applyUpliftCurves, getEventKind, hasSeedMultiplier, learnUpliftCurves, parseEventsCsv, removeEventHours } from './forecast/uplift.ts';
import { WEEK } from './forecast/seasonal-models.ts';
import { getSeasonalNaiveScale } from './forecast/metrics.ts';
import { getWallClock } from './forecast/wall-clock.ts';
import { getLocalTime } from './forecast/time-zone.ts';

/** Optional data sources injected by the main CLI (database access lives outside the toolkit). */
export interface ScalingCliDeps {
  /** The catalog's sale_events rows. */
  loadSaleEvents?: () => Promise<SaleEventInput[]>;
  /** The analytics rollups' hourly request counts. */
  loadHourlyHistory?: () => Promise<HourlyPoint[]>;
  /** The shop's time zone when `--tz` is not given (the main CLI: `SHOP_TIME_ZONE`); else UTC. */
  timeZone?: () => string;
  /** The clock that picks the default sale (the next one not yet over). @defaultValue () => new Date() */
  now?: () => Date;
  /**
   * The app's settings `plan` checks (DB_POOL_MAX, CACHE_REDIS_URL, REDIS_PREFIX, RATE_LIMIT_*); the main CLI
   * reads them from the environment. @defaultValue () => loadCapacityCheckConfig({}), the app's defaults
   */
  capacityChecks?: () => CapacityCheckConfig;
}

/** The app's settings the checks use: injected, else the app's defaults (the toolkit reads no environment itself). */
export function getCapacityCheckConfig(deps: ScalingCliDeps): CapacityCheckConfig {
  return deps.capacityChecks?.() ?? loadCapacityCheckConfig({});
}

/** The database pools `plan` and `simulate` size with, and where they came from (for the printed message). */
export interface DbPools {
  web: number;
  worker: number;
  source: string;
  /** Neither option nor DB_POOL_MAX: the spec's pools. */
  fromSpec: boolean;
}

/**
 * `--db-pool-max`, else DB_POOL_MAX (either: every process), else each role's pool in the deployment spec: what the
 * manifests run. Unset, the app's own default (10) was used, which no rendered file deploys.
 */
export function resolveDbPools(option: string | undefined, app: CapacityCheckConfig): DbPools {
  if (option !== undefined) {
    const n = toBoundedNumber(option, '--db-pool-max', { atLeast: 1, whole: true });
    return { web: n, worker: n, source: '--db-pool-max', fromSpec: false };
  }
  if (app.dbPoolMaxSet) return { web: app.dbPoolMax, worker: app.dbPoolMax, source: 'DB_POOL_MAX', fromSpec: false };
  const { web, worker } = SEED_DEPLOYMENT_SPEC;
  return { web: web.dbPoolMax, worker: worker.dbPoolMax, source: `DB_POOL_MAX unset: the deployment spec's web.dbPoolMax ${web.dbPoolMax} and worker.dbPoolMax ${worker.dbPoolMax}, what the manifests run`, fromSpec: true };
}

/** `--tz`, else the shop's configured time zone, else UTC; an unknown name is refused (INVALID_OPTION). */
export function resolveTimeZone(tz: string | undefined, deps: ScalingCliDeps): string {
  const zone = tz ?? deps.timeZone?.() ?? 'UTC';
  getLocalTime(new Date(0), zone);
  // The canonical spelling (`utc` → `UTC`): it goes into KEDA's cron `timezone`, which Go reads case-sensitively.
  const canonical = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  // Intl takes a bare offset (`+05:00`); Go's time.LoadLocation does not, and KEDA could not load the cron
  // triggers `plan` printed with it.
  if (/^[+-]\d/.test(canonical)) throw new ScalingInputError('INVALID_OPTION', `time zone ${quoteInput(zone)} is a UTC offset, not a zone name: give an IANA name (a region like Asia/Karachi, or Etc/GMT-5 for a fixed UTC+5)`, { timeZone: zone });
  return canonical;
}

/** The forecast's options, shared by forecast, plan, simulate and cost. */
export interface CommonOptions {
  from?: string;
  to?: string;
  year?: string;
  event: string;
  eventsFile?: string;
  eventsCsv?: string;
  quantile?: string;
  country?: string;
  db: boolean;
  tz: string;
  /** Without a history only (the spec's prescale.baseRps when not given). */
  baseRps?: string;
  history?: string;
  learn?: boolean;
  wallClock?: boolean;
  json?: boolean;
  out?: string;
  progress: boolean;
}

export { MAX_OPTION_MAGNITUDE };

/** A decimal number: `Number()` also reads hex, octal and binary (`--year 0x7e9` was 2025, `--max 0x14` 20). */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

export function toNumber(value: string, field: string): number {
  const n = Number(value);
  if (!DECIMAL.test(value) || !Number.isFinite(n)) throw new ScalingInputError('INVALID_OPTION', `${field}: ${quoteInput(value)} is not a number`, { field, value });
  if (Math.abs(n) > MAX_OPTION_MAGNITUDE) throw new ScalingInputError('INVALID_OPTION', `${field}: ${quoteInput(value)} is too large (at most ${MAX_OPTION_MAGNITUDE.toExponential()})`, { field, value });
  return n;
}

/** Bounds of a numeric option; `atLeast`/`atMost` are inclusive, `above`/`below` exclusive. */
export interface NumberBounds {
  atLeast?: number;
  above?: number;
  atMost?: number;
  below?: number;
  whole?: boolean;
}

function describeBounds(b: NumberBounds): string {
  const kind = b.whole ? 'a whole number' : 'a number';
  if (b.atLeast !== undefined && b.atMost !== undefined) return `${kind} from ${b.atLeast} to ${b.atMost}`;
  const limits = [b.atLeast !== undefined ? `≥ ${b.atLeast}` : '', b.above !== undefined ? `> ${b.above}` : '', b.atMost !== undefined ? `≤ ${b.atMost}` : '', b.below !== undefined ? `< ${b.below}` : ''].filter(Boolean);
  return `${kind} ${limits.join(' and ')}`.trim();
}

/** A numeric option within its bounds (INVALID_OPTION otherwise): a price is not negative, a replica count is whole. */
export function toBoundedNumber(value: string, field: string, bounds: NumberBounds): number {
  const n = toNumber(value, field);
  const ok = (bounds.atLeast === undefined || n >= bounds.atLeast) && (bounds.above === undefined || n > bounds.above) && (bounds.atMost === undefined || n <= bounds.atMost) && (bounds.below === undefined || n < bounds.below) && (!bounds.whole || Number.isSafeInteger(n));
  if (!ok) throw new ScalingInputError('INVALID_OPTION', `${field} must be ${describeBounds(bounds)} (got ${quoteInput(value)})`, { field, value });
  return n;
}

/**
 * `--orders-per-request` within `bounds` and at most 1: an order takes at least its checkout request, so a figure
 * above 1 is requests per order (500 for 0.002), which priced billions of orders at $0.00 per 1000 and sized the
 * workers for them; the error names the inverse.
 */
export function toOrdersPerRequest(value: string, bounds: NumberBounds): number {
  const n = toBoundedNumber(value, '--orders-per-request', bounds);
  if (n > 1) throw new ScalingInputError('INVALID_OPTION', `--orders-per-request is orders per web request, at most 1 (an order takes at least its checkout request): got ${quoteInput(value)}; for ${n} requests per order give ${Number((1 / n).toPrecision(6))}`, { field: '--orders-per-request', value });
  return n;
}

/**
 * Most replicas a command takes (`--max`, `--worker-min/max`): the simulations model every pod at every
 * controller sync, so their time grows with the count (10,000 web replicas over 2 hours took 30 s, a
 * million did not finish). A thousand is 50 × the seed's maximum.
 */
export const MAX_REPLICAS = 1000;

/** `--year`, else the year of `--from`, else the year of the next `--event` that has not ended yet. */
function getYear(o: CommonOptions, deps: ScalingCliDeps): number {
  if (o.year !== undefined) {
    const y = toNumber(o.year, '--year');
    if (!Number.isInteger(y) || y < 1970 || y > 2200) throw new ScalingInputError('INVALID_DATE', `--year: ${quoteInput(o.year)} is not a year`);
    return y;
  }
  if (o.from) return parseDate(o.from, '--from').getUTCFullYear();
  return getNextCalendarEventYear(parseEventId(o.event), deps.now?.() ?? new Date(), o.tz);
}

function parseEventId(value: string): CalendarEventId {
  if ((CALENDAR_EVENT_IDS as readonly string[]).includes(value)) return value as CalendarEventId;
  throw new ScalingInputError('INVALID_OPTION', `--event: unknown event ${quoteInput(value)} (known: ${CALENDAR_EVENT_IDS.join(', ')})`);
}

/**
 * A file option's path, refused when empty: `--history "$FILE"` with FILE unset was taken as no history at
 * all, and the forecast fell back to the seed pattern (events: to the built-in calendar) without a word.
 */
function requirePath(path: string, flag: string): string {
  if (path.trim() === '') throw new ScalingInputError('INVALID_OPTION', `${flag} was given an empty path (an unset shell variable?): name a file`, { field: flag });
  return path;
}

async function readText(path: string, flag: string, code: 'MALFORMED_FILE' | 'MALFORMED_CSV'): Promise<string> {
  try {
    return await readInputFile(path);
  } catch {
    throw new ScalingInputError(code, `${flag} ${path} cannot be read`);
  }
}

/** The source of events read from the `sale_events` table. */
const SALE_EVENTS_TABLE_SOURCE = 'database (sale_events)';

/**
 * The events the shop named: a file (JSON or CSV) beats the database; undefined when there are none.
 * Both files at once are refused: one of them would be dropped without a word (the CSV was taken).
 */
export async function loadNamedEvents(o: { eventsCsv?: string; eventsFile?: string; db: boolean }, deps: ScalingCliDeps): Promise<{ events: SaleEvent[]; source: string } | undefined> {
  if (o.eventsCsv !== undefined && o.eventsFile !== undefined) throw new ScalingInputError('INVALID_OPTION', '--events-csv and --events-file both give the sale events: give one of them');
  if (o.eventsCsv !== undefined) return { events: parseEventsCsv(await readText(requirePath(o.eventsCsv, '--events-csv'), '--events-csv', 'MALFORMED_CSV'), o.eventsCsv), source: o.eventsCsv };
  if (o.eventsFile !== undefined) return { events: parseSaleEventsJson(await readText(requirePath(o.eventsFile, '--events-file'), '--events-file', 'MALFORMED_FILE'), o.eventsFile), source: o.eventsFile };
  if (o.db && deps.loadSaleEvents) {
    const rows = await deps.loadSaleEvents();
    if (rows.length > 0) return { events: parseSaleEvents(rows), source: SALE_EVENTS_TABLE_SOURCE };
  }
  return undefined;
}

/**
 * With --from the window is given: a --year of another year picked a built-in calendar without the window's sales
 * (×1 on its Black Friday). Events from a file or the database are the window's sales whatever --year says.
 */
function checkCalendarYear(o: CommonOptions, year: number): void {
  if (o.year === undefined || !o.from) return;
  const from = parseDate(o.from, '--from');
  const to = o.to ? parseDate(o.to, '--to') : undefined;
  const years = [...new Set([from.getUTCFullYear(), to?.getUTCFullYear() ?? from.getUTCFullYear()])];
  if (years.includes(year)) return;
  const at = (d: Date) => `${d.toISOString().slice(0, 16)}Z`;
  throw new ScalingInputError('INVALID_OPTION', `--year ${year} is not a year of the window ${at(from)} → ${to ? at(to) : '(--to not given)'}: its calendar would hold none of the window's sales; leave --year out (the window's year is used) or give ${years.join(' or ')}`);
}

/** Events: a file (JSON or CSV) beats the database, which beats the built-in calendar. */
export async function resolveEvents(o: CommonOptions, deps: ScalingCliDeps, year: number): Promise<{ events: SaleEvent[]; source: string }> {
  const named = await loadNamedEvents(o, deps);
  if (named) return named;
  checkCalendarYear(o, year);
  const tz = o.tz;
  return { events: [...getSeedCalendarEvents(year - 1, tz), ...getSeedCalendarEvents(year, tz)], source: `built-in calendar ${year} (Black Friday ×10, Cyber Monday ×8, Christmas sale ×5)` };
}

/** The built-in calendar's sales that overlap the window (of every year it touches, in the shop's zone). */
function getBuiltInSalesInWindow(from: Date, to: Date, timeZone: string): SaleEvent[] {
  const years = { first: getLocalTime(from, timeZone).year - 1, last: getLocalTime(to, timeZone).year };
  const out: SaleEvent[] = [];
  for (let y = years.first; y <= years.last; y++) out.push(...getSeedCalendarEvents(y, timeZone).filter((e) => e.endsAt.getTime() > from.getTime() && e.startsAt.getTime() < to.getTime()));
  return out;
}

/** Longest window (`--from` → `--to`): the simulations step through every minute of it. */
export const MAX_WINDOW_DAYS = 45;

/** The window: --from/--to, else the chosen event's day with the 3 hours before it. */
export function resolveWindow(o: CommonOptions, events: readonly SaleEvent[], year: number): { from: Date; to: Date } {
  const id = parseEventId(o.event);
  const calendar = getCalendarEvent(id, year, o.tz);
  const focus = events.find((e) => e.name === calendar.name && e.startsAt.getUTCFullYear() === calendar.startsAt.getUTCFullYear()) ?? calendar;
  const from = o.from ? parseDate(o.from, '--from') : new Date(focus.startsAt.getTime() - 3 * 3_600_000);
  const to = o.to ? parseDate(o.to, '--to') : focus.endsAt;
  const iso = (d: Date) => `${d.toISOString().slice(0, 16)}Z`;
  // Without --to the window ends with the sale of --from's year, which is rarely what a --from alone meant.
  const defaultTo = o.to === undefined ? `--to was not given and defaults to the end of ${focus.name} ${year} (${iso(to)}); ` : '';
  // And without --from it starts before the next sale, whatever year --to names: say so (it read "give a --to after --from").
  const defaultFrom = o.from === undefined && o.to !== undefined ? `--from was not given and defaults to 3 h before ${focus.name} ${year} (${iso(from)}); give a --from (or --year)` : undefined;
  if (to.getTime() <= from.getTime()) throw new ScalingInputError('INVALID_DATE', `the window ${iso(from)} → ${iso(to)} ends before it starts: ${defaultFrom ? `${defaultFrom} before --to` : `${defaultTo}give a --to after --from`}`);
  const days = (to.getTime() - from.getTime()) / 86_400_000;
  if (days > MAX_WINDOW_DAYS) {
    const latest = iso(new Date(from.getTime() + MAX_WINDOW_DAYS * 86_400_000));
    throw new ScalingInputError('INVALID_OPTION', `the window ${iso(from)} → ${iso(to)} spans ${Number(days.toFixed(1))} days; it is limited to ${MAX_WINDOW_DAYS}: ${defaultFrom ? `${defaultFrom}, or a --to at most ${latest}` : `${defaultTo}give a --to at most ${latest}`}`);
  }
  return { from, to };
}

export async function loadHistory(o: { history?: string; learn?: boolean; dataset?: string }, deps: ScalingCliDeps): Promise<HourlyPoint[] | undefined> {
  // One source of history: with two, one of them was silently dropped.
  const sources = [o.history !== undefined && '--history', o.learn && '--learn', o.dataset !== undefined && '--dataset'].filter((s) => s !== false && s !== undefined);
  if (sources.length > 1) throw new ScalingInputError('INVALID_OPTION', `${sources.join(' and ')} both give the history: give one of them`);
  if (o.history !== undefined) {
    requirePath(o.history, '--history');
    let text: string;
    try {
      text = await readInputFile(o.history);
    } catch {
      throw new ScalingInputError('MALFORMED_CSV', `--history ${o.history} cannot be read`);
    }
    return parseHourlyCsv(
      text,
      o.history,
      (g) => process.stderr.write(`warning: ${o.history}: filled ${g.filledHours} missing hour(s), the first at ${g.firstMissing}, with ${g.method}\n`),
      (r) => process.stderr.write(`warning: ${o.history}: its hours start ${r.offsetMinutes} minutes past the UTC hour (a time zone like +05:30); moved onto ${r.hours} whole UTC hours, each taking its share of the two hours it overlaps, demand assumed even within an hour\n`),
    );
  }
  if (o.learn) {
    if (!deps.loadHourlyHistory) throw new ScalingInputError('INVALID_OPTION', '--learn needs the database (run through the main CLI) or use --history <csv>');
    return deps.loadHourlyHistory();
  }
  return undefined;
}

/**
 * Whether the history's hours are UTC instants of demand that follows the `--tz` clock: always for the
 * analytics rollups (`--learn`), for a file only with `--wall-clock` (many files hold local clock times
 * labelled as UTC, and read as instants they would gain a spurious shift at every clock change).
 */
export function isWallClockHistory(o: { history?: string; learn?: boolean; wallClock?: boolean }): boolean {
  return o.wallClock === true || (o.learn === true && !o.history);
}

/** Parses `--quantile` (default 0.9). */
export function parseQuantile(value: string | undefined, fallback = 0.9): number {
  if (value === undefined) return fallback;
  const q = toNumber(value, '--quantile');
  if (!(q > 0 && q < 1)) throw new ScalingInputError('INVALID_OPTION', `--quantile must be in (0, 1) (got ${value})`);
  return q;
}

/** The learned base (requests/s per hour start): mean and the quantile, for hours after the history. */
export interface LearnedBase {
  mean: Map<number, number>;
  quantile: Map<number, number>;
  /** What the cross-validation chose and how it scored. */
  description: string;
}

/**
 * Learned base traffic: the history's own hours, then the cross-validated model set's forecast up to `to`.
 * The models are fitted on the history with the hours of past `events` replaced by their baseline.
 */
export function learnBase(history: readonly HourlyPoint[], to: Date, quantile: number, calendar?: SeriesCalendar, events: readonly SaleEvent[] = [], timeZone = 'UTC'): LearnedBase {
  requireWeeklyHistory(history.length);
  const last = history[history.length - 1].hour.getTime();
  const horizon = Math.max(1, Math.ceil((to.getTime() - last) / 3_600_000));
  const baseline = removeEventHours(history, events);
  // On the shop's wall clock when it changes over the history or the window (daylight saving time).
  const clock = getWallClock(history[0].hour.getTime(), baseline.y.length + horizon, timeZone);
  const f = forecastHistory(baseline.y, horizon, clock, [quantile], { calendar });
  const { selection, filled: gaps } = f;
  const y = gaps.y;
  const point = f.mean;
  const upper = f.quantiles.get(quantile) as number[];
  // Hours the history covers are what was observed (inside past events, their baseline: the events' own
  // multipliers apply on top); the forecast starts after them.
  const mean = new Map<number, number>(history.map((p, i) => [p.hour.getTime(), y[i] / 3600]));
  const q = new Map<number, number>(mean);
  for (let i = 0; i < horizon; i++) {
    mean.set(last + (i + 1) * 3_600_000, point[i] / 3600);
    q.set(last + (i + 1) * 3_600_000, upper[i] / 3600);
  }
  const folds = selection.foldStarts.length;
  const cleaned = baseline.hours > 0 ? `; ${baseline.hours} hour(s) of ${baseline.events} past sale event(s) replaced by their baseline (the median of the same hour over the 5 weeks before) before fitting` : '';
  const filled = gaps.hours.length > 0 ? `; ${gaps.hours.length} hour(s) at zero where the weeks before had demand (from ${history[gaps.hours[0]].hour.toISOString().slice(0, 13)}:00Z) taken as a gap in the data and filled with the median of the same hour over the 5 weeks before` : '';
  const onWallClock = clock ? `; on the ${timeZone} wall clock (its clock changes inside the history or the window)` : '';
  // The MASE scale is seasonal naive's in-sample error: on weeks that repeat exactly it is (near) 0, and a MASE
  // divided by it means nothing (printed as "-", as backtest prints a week seasonal naive forecasts exactly).
  // On the series the selection scored (`foldStarts` index it), not on the whole history.
  const scored = f.modelled;
  const level = Math.max(1, scored.reduce((a, v) => a + Math.abs(v), 0) / Math.max(1, scored.length));
  const zeroScale = selection.foldStarts.filter((s) => s > WEEK && getSeasonalNaiveScale(scored.slice(0, s), WEEK) <= 1e-9 * level).length;
  const scores =
    zeroScale === 0
      ? `MASE ${selection.chosen.meanMase.toFixed(3)} vs seasonal naive ${selection.seasonalNaive.meanMase.toFixed(3)}`
      : `MASE - vs seasonal naive - (undefined: ${zeroScale === folds ? 'the history repeats itself week on week' : `before ${zeroScale} of the ${folds} week(s) the history repeats itself week on week`}, so seasonal naive's in-sample error, the MASE scale, is 0)`;
  const description = `${selection.chosen.name}; cross-validated on the last ${folds} week(s): ${scores}${cleaned}${filled}${onWallClock}`;
  return { mean, quantile: q, description };
}

/** Says so when the window reaches past the first week after the history (the models are validated one week ahead). */
function describeReach(history: readonly HourlyPoint[], to: Date): string {
  const end = history[history.length - 1].hour.getTime() + 3_600_000;
  const hours = (to.getTime() - end) / 3_600_000;
  if (hours <= WEEK) return '';
  const days = Math.ceil(hours / 24);
  return `; the window ends ${days < 28 ? `${days} days` : `${Math.round(days / 7)} weeks`} after the history: the models are validated one week ahead, further out the forecast carries the last weeks' pattern forward and its quantile widens as far as the history's weekly level moved over as many weeks (√weeks beyond what the history spans)`;
}

/**
 * How far past the history a window may end. The models forecast every hour up to the window, so the
 * cost grows with the distance: 500 years ahead took 47 s and 1.5 GB, the year 9999 ran out of memory.
 * Two years is a plan made early (the models see at most `MAX_MODEL_WEEKS`, two years, of history too).
 */
export const MAX_HORIZON_WEEKS = 104;

/** A learned forecast covers the history and the weeks after it: a window before it would silently get the seed pattern. */
function checkWindowAgainstHistory(history: readonly HourlyPoint[], from: Date, to: Date): void {
  if (history.length === 0) return;
  const first = history[0].hour;
  const last = history[history.length - 1].hour;
  if (from.getTime() < first.getTime()) throw new ScalingInputError('INVALID_DATE', `--from (${from.toISOString()}) is before the history starts (${first.toISOString()}): the learned forecast covers the history and the weeks after it`);
  const weeks = Math.ceil((to.getTime() - last.getTime() - 3_600_000) / (WEEK * 3_600_000));
  if (weeks > MAX_HORIZON_WEEKS) throw new ScalingInputError('INVALID_OPTION', `the window ends ${weeks} weeks after the history (its last hour ${last.toISOString()}); the forecast reaches ${MAX_HORIZON_WEEKS} weeks past it at most: give a more recent history`);
}

/**
 * A span a command forecasts beyond the window (cost's priced month around the sale), given the window's
 * start and end and the history's first hour (undefined without a history).
 */
export interface ExtraSpan {
  /** How the warnings name it, e.g. `the month cost prices`. */
  label: string;
  get: (from: Date, to: Date, historyStart?: Date) => { start: Date; end: Date };
}

/**
 * The forecast behind forecast, plan, simulate and cost. `extraSpan` extends the learned forecast past the
 * window, and the warnings of built-in sales the events left out cover it too (its sales are forecast from
 * the same events).
 */
export async function resolveForecast(o: CommonOptions, deps: ScalingCliDeps, defaultQuantile?: number, extraSpan?: ExtraSpan) {
  // Without a history the forecast is the seed pattern: no validation errors, so no quantile. Left out,
  // --quantile keeps its default and the commands say they use the mean; given, it was silently ignored.
  if (o.quantile !== undefined && o.history === undefined && !o.learn) {
    throw new ScalingInputError('INVALID_OPTION', "--quantile needs a history (--history <csv> or --learn): the quantile comes from the forecast's validation errors, and the seed pattern has none");
  }
  // --wall-clock tells how a history's hours are read; the seed pattern is on the --tz clock whatever it says, so it was ignored.
  if (o.wallClock && o.history === undefined && !o.learn) {
    throw new ScalingInputError('INVALID_OPTION', "--wall-clock needs a history (--history <csv>): it says how the history's hours are read, and without one the seed's weekly pattern stands in, on the --tz clock already");
  }
  if (o.baseRps !== undefined && (o.history !== undefined || o.learn)) {
    throw new ScalingInputError('INVALID_OPTION', `--base-rps scales the seed pattern; with ${o.learn ? '--learn' : '--history'} the base traffic is learned from the history: give one of them`);
  }
  const year = getYear(o, deps);
  const resolved = await resolveEvents(o, deps, year);
  const { from, to } = resolveWindow(o, resolved.events, year);
  const history = await loadHistory(o, deps);
  if (history) checkWindowAgainstHistory(history, from, to);
  const quantile = parseQuantile(o.quantile, defaultQuantile ?? 0.9);
  // Checked even when there is no history to use it on: an unknown code was silently ignored.
  const isHoliday = o.country !== undefined ? createHolidayPredicate(o.country, o.tz) : undefined;
  const calendar = history && history.length > 0 && isHoliday ? { startMs: history[0].hour.getTime(), isHoliday } : undefined;
  const extra = extraSpan?.get(from, to, history?.[0]?.hour);
  const learnTo = history && history.length > 0 && extra ? new Date(Math.max(to.getTime(), extra.end.getTime())) : to;
  if (history && learnTo !== to) checkWindowAgainstHistory(history, from, learnTo);
  const learned = history ? learnBase(history, learnTo, quantile, calendar, resolved.events, isWallClockHistory(o) ? o.tz : 'UTC') : undefined;
  let events = history ? applyUpliftCurves(resolved.events, learnUpliftCurves(history, resolved.events), history[history.length - 1].hour, o.eventsFile || (o.db && resolved.source === SALE_EVENTS_TABLE_SOURCE) ? `multiplier from ${resolved.source}` : 'seed multiplier') : resolved.events.map((e) => ({ ...e, source: e.source ?? `${resolved.source}: ×${e.trafficMultiplier}` }));
  // An events CSV's event of a kind with no seed multiplier and no learned curve gets ×1: named as such, and warned of below.
  const unpriced = (e: SaleEvent) => o.eventsCsv !== undefined && !e.curve && !hasSeedMultiplier(e.kind ?? getEventKind(e.name)) && e.trafficMultiplier === 1;
  const noUplift = (e: SaleEvent) => `no uplift: kind "${e.kind ?? getEventKind(e.name)}" has no seed multiplier and no past event in a history to learn one from`;
  events = events.map((e) => (unpriced(e) ? { ...e, source: `${o.eventsCsv}: ×1, ${noUplift(e)}` } : e));
  const forecast: Partial<ForecastOptions> = {
    baseRequestsPerSecond: toBoundedNumber(o.baseRps ?? String(SEED_DEPLOYMENT_SPEC.prescale.baseRps), '--base-rps', { above: 0 }),
    timeZone: o.tz,
    events,
    learnedBase: learned?.mean,
  };
  const inWindow = events.filter((e) => e.endsAt.getTime() > from.getTime() && e.startsAt.getTime() < to.getTime());
  // What the forecast cannot say in its table: said on stderr by the commands, and in their --json.
  const warnings: string[] = [];
  // What replaced the built-in calendar, as the warnings name it: a file (by its flag and path) or the sale_events table.
  const replacer =
    o.eventsCsv !== undefined
      ? { name: `--events-csv ${resolved.source}`, noun: 'file' }
      : o.eventsFile !== undefined
        ? { name: `--events-file ${resolved.source}`, noun: 'file' }
        : resolved.source === SALE_EVENTS_TABLE_SOURCE
          ? { name: 'the sale_events table', noun: 'table' }
          : undefined;
  for (const e of inWindow.filter(unpriced)) {
    warnings.push(`${e.name} (${e.startsAt.toISOString().slice(0, 16)}Z): kind "${e.kind ?? getEventKind(e.name)}" has no seed multiplier and no past event in a history to learn one from: forecast at ×1 (no uplift); give past events of that kind with --history, or a trafficMultiplier with --events-file`);
  }
  // Only where the built-in calendar had a sale that the file dropped: a window with no sale in either is right at ×1.
  // A built-in sale counts as covered by any event of the file (whatever its name) that overlaps its hours in the window.
  const replaced = replacer ? getBuiltInSalesInWindow(from, to, o.tz) : [];
  const at = (d: Date) => `${d.toISOString().slice(0, 16)}Z`;
  const describeSale = (e: SaleEvent) => `${e.name} ${getLocalTime(e.startsAt, o.tz).year} (${at(e.startsAt)}, ×${e.trafficMultiplier})`;
  if (replacer && replaced.length > 0 && inWindow.length === 0) {
    warnings.push(`${replacer.name} replaced the built-in calendar and has no event in the window ${at(from)} → ${at(to)}, where the built-in calendar has ${replaced.map(describeSale).join(', ')}: it is forecast without a sale uplift (×1); add the upcoming sale to the ${replacer.noun}`);
  }
  // Each built-in sale once, in the first span (the window, then the command's extra span) where no event overlaps its hours.
  const spans = [{ label: 'the window', start: from, end: to }, ...(extra && extraSpan ? [{ label: extraSpan.label, ...extra }] : [])];
  const warned = new Set<string>(inWindow.length === 0 ? replaced.map(describeSale) : []);
  if (replacer) {
    for (const span of spans) {
      for (const sale of getBuiltInSalesInWindow(span.start, span.end, o.tz)) {
        const start = Math.max(sale.startsAt.getTime(), span.start.getTime());
        const end = Math.min(sale.endsAt.getTime(), span.end.getTime());
        if (warned.has(describeSale(sale)) || events.some((e) => e.startsAt.getTime() < end && e.endsAt.getTime() > start)) continue;
        warned.add(describeSale(sale));
        warnings.push(`${replacer.name} replaced the built-in calendar and has no event overlapping ${describeSale(sale)}, which the built-in calendar has in ${span.label} ${at(span.start)} → ${at(span.end)}: it is forecast without its sale uplift (×1); add the sale to the ${replacer.noun}`);
      }
    }
  }
  // What the window holds, for titles: its sale events (a name without a year gets the year of its start).
  const named = inWindow.map((e) => (/\b\d{4}\b/.test(e.name) ? e.name : `${e.name} ${getLocalTime(e.startsAt, o.tz).year}`));
  return {
    forecast,
    /** The same forecast with the base at the quantile (sizing); equal to `forecast` without history. */
    quantileForecast: learned ? { ...forecast, learnedBase: learned.quantile } : forecast,
    quantile,
    hasQuantile: learned !== undefined,
    from,
    to,
    /** The calendar sale (`--event`) and the year the window was planned for. */
    event: parseEventId(o.event),
    year,
    /** The sale events in the window (`Black Friday 2026`, `Black Friday 2026 + Cyber Monday 2026`); undefined when it holds none. */
    saleEvents: named.length > 0 ? [...new Set(named)].join(' + ') : undefined,
    /** The history's first hour; undefined without a history. */
    historyStart: history?.[0]?.hour,
    eventSource: resolved.source,
    eventSources: inWindow.map((e) => ({ name: e.name, startsAt: e.startsAt.toISOString(), kind: e.kind, source: e.source })),
    /** Warnings for stderr (and --json `warnings`). */
    warnings,
    baseSource: learned && history ? `learned from ${history.length} hours of history: ${learned.description}${describeReach(history, to)}` : 'seed weekly pattern × --base-rps',
  };
}

/**
 * The web pod and the worker tier as the deployment spec deploys them: the defaults of plan, simulate and
 * cost (capacity, replica bounds, CPU target), so that their plan is the one the manifests carry.
 */
export const DEPLOYED_PLAN = getSpecPlanOptions(SEED_DEPLOYMENT_SPEC);

/** The cloud autoscalers as the rendered files configure them: `simulate` and `cost` run these. */
export const DEPLOYED_ENGINES = getSpecEngineOptions(SEED_DEPLOYMENT_SPEC);
const DEPLOYED = DEPLOYED_PLAN;

/** How the deployed pod's figure is named in every output that uses it. */
export function describeDeployedCapacity(): string {
  const web = SEED_DEPLOYMENT_SPEC.web;
  return `deployment spec: one web pod as deployed (${web.requests.cpuMillicores}m CPU requested, ${web.limits.cpuMillicores}m limit), the figure the manifests pre-scale with and set as WAITING_ROOM_CAPACITY_RPS; assumed, not measured (measure your pod: --bench <file>)`;
}

/** The capacity options of plan, simulate and cost (forecast sizes nothing). */
export interface CapacityOptions {
  capacity?: string;
  bench?: string;
  min: string;
  max: string;
  targetUtil: string;
}

/** Capacity per instance (`--capacity`, else `--bench <file>`, else the deployed pod's) and the web plan's bounds. */
export async function resolveWebCapacity(o: CapacityOptions) {
  const cap = await resolveCapacity({
    flag: o.capacity !== undefined ? toBoundedNumber(o.capacity, '--capacity', { atLeast: MIN_CAPACITY_RPS }) : undefined,
    benchPath: o.bench,
    deployed: { requestsPerSecondPerInstance: DEPLOYED.web.capacityPerInstanceRps, source: describeDeployedCapacity() },
  });
  const min = toBoundedNumber(o.min, '--min', { atLeast: 0, atMost: MAX_REPLICAS, whole: true });
  const max = toBoundedNumber(o.max, '--max', { atLeast: 1, atMost: MAX_REPLICAS, whole: true });
  const targetUtilization = toNumber(o.targetUtil, '--target-util') / 100;
  if (min < 0 || max < 1 || min > max) throw new ScalingInputError('INVALID_OPTION', `--min/--max must satisfy 0 ≤ min ≤ max, max ≥ 1 (got ${min}/${max})`);
  // A percent, as the HPA's averageUtilization (a whole percent from 1): under 1 is a fraction meant as one (0.7 for
  // 70 %), which planned every hour at 100 times the pods.
  if (!(targetUtilization >= 0.01 && targetUtilization <= 1)) {
    const meant = targetUtilization > 0 && targetUtilization < 0.01 ? `: for ${Number((targetUtilization * 10_000).toPrecision(6))} % give ${Number((targetUtilization * 10_000).toPrecision(6))}` : '';
    throw new ScalingInputError('INVALID_OPTION', `--target-util is a percentage from 1 to 100 (got ${o.targetUtil}${meant})`);
  }
  return { capacity: cap, web: { minReplicas: min, maxReplicas: max, targetUtilization, sloP95Ms: DEPLOYED.web.sloP95Ms } };
}
