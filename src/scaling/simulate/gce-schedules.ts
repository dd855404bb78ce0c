/**
 * The time-based inputs of the Compute Engine autoscaler: scaling schedules (extended cron with an
 * optional year, an IANA time zone and a duration) and the predictive forecast of
 * `cpuUtilization.predictiveMethod: OPTIMIZE_AVAILABILITY`. Pure: instants in, intervals and sizes out.
 *
 * Sources (Google Cloud documentation, compute/docs/autoscaler/): scaling-schedules, predictive-autoscaling,
 * and the REST reference of `AutoscalingPolicyScalingSchedule`. What the docs leave open is said where it is decided.
 */
import { ScalingInputError } from '../errors.ts';
import { getLocalTime } from '../forecast/time-zone.ts';

/** One entry of `autoscalingPolicy.scalingSchedules` (REST field names). */
export interface GceScalingSchedule {
  /** Minimum VMs the autoscaler recommends while the schedule is active. */
  minRequiredReplicas: number;
  /** Extended cron: `min hour dom month dow [year]`; start instants of the intervals. */
  schedule: string;
  /** IANA zone the cron is read in. @defaultValue 'UTC' */
  timeZone?: string;
  /** Length of each interval; at least 300. */
  durationSec: number;
  /** @defaultValue false */
  disabled?: boolean;
  description?: string;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** The years the optional 6th cron field of a scaling schedule accepts (Compute Engine, Scaling based on schedules). */
export const GCE_CRON_YEARS: readonly [number, number] = [2000, 2036];
const FIELD_RANGES: readonly (readonly [number, number])[] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
  GCE_CRON_YEARS,
];

/** A parsed cron field: the allowed values, or undefined for `*`. */
type CronField = Set<number> | undefined;

export interface ParsedCron {
  minute: CronField;
  hour: CronField;
  dayOfMonth: CronField;
  month: CronField;
  dayOfWeek: CronField;
  year: CronField;
}

function parseField(text: string, [lo, hi]: readonly [number, number], expression: string): CronField {
  if (text === '*') return undefined;
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(part);
    if (!m) throw new ScalingInputError('INVALID_OPTION', `scaling schedule "${expression}": "${part}" is not a cron field`);
    const start = m[1] === '*' ? lo : Number(m[1]);
    const end = m[2] !== undefined ? Number(m[2]) : m[1] === '*' || m[3] !== undefined ? hi : start;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    if (start < lo || end > hi || start > end || step < 1) throw new ScalingInputError('INVALID_OPTION', `scaling schedule "${expression}": "${part}" is outside ${lo}–${hi}`);
    for (let v = start; v <= end; v += step) out.add(v);
  }
  return out;
}

/** Parses `min hour dom month dow [year]` (dow 0 and 7 are Sunday). */
export function parseGceCron(expression: string): ParsedCron {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) throw new ScalingInputError('INVALID_OPTION', `scaling schedule "${expression}" needs 5 or 6 cron fields`);
  const [minute, hour, dayOfMonth, month, dayOfWeek, year] = fields.map((f, i) => parseField(f, FIELD_RANGES[i], expression));
  if (dayOfWeek?.has(7)) dayOfWeek.add(0);
  return { minute, hour, dayOfMonth, month, dayOfWeek, year };
}

const has = (field: CronField, value: number) => field === undefined || field.has(value);

/** Whether a cron matches a local wall-clock minute (day of month and day of week both set: either matches, as in Unix cron). */
export function matchesCron(cron: ParsedCron, t: { year: number; month: number; day: number; hour: number; minute: number; dayOfWeek: number }): boolean {
  if (!has(cron.minute, t.minute) || !has(cron.hour, t.hour) || !has(cron.month, t.month) || !has(cron.year, t.year)) return false;
  if (cron.dayOfMonth !== undefined && cron.dayOfWeek !== undefined) return cron.dayOfMonth.has(t.day) || cron.dayOfWeek.has(t.dayOfWeek);
  return has(cron.dayOfMonth, t.day) && has(cron.dayOfWeek, t.dayOfWeek);
}

/** Checks a schedule's fields against the API's rules; throws ScalingInputError. */
export function checkGceSchedule(name: string, s: GceScalingSchedule): void {
  parseGceCron(s.schedule);
  if (!(Number.isInteger(s.durationSec) && s.durationSec >= 300)) throw new ScalingInputError('INVALID_OPTION', `scaling schedule ${name}: durationSec must be an integer ≥ 300 (got ${s.durationSec})`);
  if (!(Number.isInteger(s.minRequiredReplicas) && s.minRequiredReplicas >= 0)) throw new ScalingInputError('INVALID_OPTION', `scaling schedule ${name}: minRequiredReplicas must be an integer ≥ 0`);
  getLocalTime(new Date(0), s.timeZone ?? 'UTC');
}

/** A time interval [startMs, endMs) in which a schedule asks for `replicas`. */
export interface ScheduleInterval {
  name: string;
  startMs: number;
  endMs: number;
  replicas: number;
}

/**
 * The instants in [fromMs, toMs] at which a cron matches the local wall-clock minute in `timeZone`
 * (IANA, DST included). Shared by the Compute Engine scaling schedules and the EC2 Auto Scaling
 * scheduled actions' `Recurrence`.
 */
export function listCronInstants(cron: ParsedCron, timeZone: string, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  const first = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  // The zone's offset is read at both ends of each UTC hour; where they differ (a DST change, which
  // falls on a UTC half hour in zones such as America/St_Johns or Australia/Adelaide) it is read per minute.
  const offsetAt = (ms: number) => {
    const l = getLocalTime(new Date(ms), timeZone);
    return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute) - ms;
  };
  let offsetHour = Number.NaN;
  let offset = 0;
  let changes = false;
  for (let t = first; t <= toMs; t += MINUTE_MS) {
    const hour = Math.floor(t / HOUR_MS);
    if (hour !== offsetHour) {
      offset = offsetAt(hour * HOUR_MS);
      changes = offsetAt((hour + 1) * HOUR_MS) !== offset;
      offsetHour = hour;
    }
    const d = new Date(t + (changes ? offsetAt(t) : offset));
    const local = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), dayOfWeek: d.getUTCDay() };
    if (matchesCron(cron, local)) out.push(t);
  }
  return out;
}

/**
 * The intervals of the enabled schedules that overlap [fromMs, toMs]: every minute whose local time
 * matches the cron starts one interval of `durationSec`. Local time follows the zone's DST rules.
 */
export function expandGceSchedules(schedules: Readonly<Record<string, GceScalingSchedule>>, fromMs: number, toMs: number): ScheduleInterval[] {
  const out: ScheduleInterval[] = [];
  for (const [name, s] of Object.entries(schedules)) {
    checkGceSchedule(name, s);
    if (s.disabled) continue;
    const first = Math.floor((fromMs - s.durationSec * 1000) / MINUTE_MS) * MINUTE_MS;
    for (const t of listCronInstants(parseGceCron(s.schedule), s.timeZone ?? 'UTC', first, toMs)) {
      out.push({ name, startMs: t, endMs: t + s.durationSec * 1000, replicas: s.minRequiredReplicas });
    }
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

/** The floor the active schedules put on the recommendation at t: the greatest minRequiredReplicas, or 0. */
export function getScheduleFloor(intervals: readonly ScheduleInterval[], tMs: number): number {
  let floor = 0;
  for (const i of intervals) {
    if (i.startMs > tMs) break;
    if (tMs < i.endMs) floor = Math.max(floor, i.replicas);
  }
  return floor;
}

/** One hour of the MIG's load history (CPU-based autoscaling must have been on). */
export interface LoadHistoryPoint {
  hourMs: number;
  /** Load in any unit that sizes linearly (requests/s here). */
  load: number;
}

/** Predictive settings, with the documented limits as defaults. */
export interface GcePredictiveOptions {
  /** History needed before any prediction. @defaultValue 3 days */
  minHistoryHours: number;
  /** History used at most. @defaultValue 3 weeks */
  maxHistoryHours: number;
}

export const GCE_PREDICTIVE_LIMITS: GcePredictiveOptions = { minHistoryHours: 72, maxHistoryHours: 21 * 24 };

/**
 * Forecast of the load at `atMs` from the history before `nowMs`: with at least a week of the
 * (at most three weeks) used, the mean of the same hour of the week (weekly pattern); with less,
 * the mean of the same hour of the day (daily pattern); nothing with under three days. Google does
 * not publish its model: a seasonal mean is the simplest one with the documented inputs, and it
 * shares the documented blind spot (no monthly, annual or one-off events).
 */
export function forecastSeasonalLoad(history: readonly LoadHistoryPoint[], nowMs: number, atMs: number, options: GcePredictiveOptions = GCE_PREDICTIVE_LIMITS): number | undefined {
  const usable = history.filter((h) => h.hourMs < nowMs && h.hourMs >= nowMs - options.maxHistoryHours * HOUR_MS);
  if (usable.length < options.minHistoryHours) return undefined;
  const spanHours = (nowMs - Math.min(...usable.map((h) => h.hourMs))) / HOUR_MS;
  const season = spanHours >= 168 ? 168 : 24;
  const slot = Math.floor(atMs / HOUR_MS);
  const same = usable.filter((h) => (((slot - Math.floor(h.hourMs / HOUR_MS)) % season) + season) % season === 0);
  if (same.length === 0) return undefined;
  return same.reduce((s, h) => s + h.load, 0) / same.length;
}
