/**
 * The time-based inputs of an EC2 Auto Scaling group: scheduled actions (`AWS::AutoScaling::ScheduledAction`:
 * one-off at StartTime, or a 5-field cron Recurrence in a TimeZone until EndTime, setting MinSize, MaxSize
 * and/or DesiredCapacity as UpdateAutoScalingGroup does) and the forecast of a predictive scaling policy
 * (hourly capacity for the next 48 hours, made from at least 24 hours and at most 14 days of history,
 * refreshed every six hours, in force SchedulingBufferTime before each hour). Pure: instants in, sizes out.
 *
 * Sources (EC2 Auto Scaling User Guide): ec2-auto-scaling-scheduled-scaling, predictive-scaling-overriding-forecast-capacity,
 * ec2-auto-scaling-predictive-scaling; API reference: UpdateAutoScalingGroup, PredictiveScalingConfiguration,
 * GetPredictiveScalingForecast. Each rule is tested against its sentence in `aws-autoscaling.test.ts`.
 */
import { ScalingInputError } from '../errors.ts';
import type { AwsGroupSizes } from './aws-autoscaling.ts';
import type { LoadHistoryPoint } from './gce-schedules.ts';
import { forecastSeasonalLoad, listCronInstants, parseGceCron } from './gce-schedules.ts';

/** `AWS::AutoScaling::ScheduledAction` properties (the shape `toAwsScheduledActions` renders). */
export interface AwsScheduledUpdateGroupAction {
  AutoScalingGroupName?: string;
  /** UTC, ISO 8601. A one-off action runs then; a recurring one runs then and on each Recurrence after. */
  StartTime?: string;
  /** UTC, ISO 8601: a recurring action stops repeating after it (nothing is undone). */
  EndTime?: string;
  /** Cron `[Minute] [Hour] [Day_of_Month] [Month_of_Year] [Day_of_Week]`. */
  Recurrence?: string;
  /** IANA zone the Recurrence is read in. @defaultValue 'UTC' */
  TimeZone?: string;
  MinSize?: number;
  MaxSize?: number;
  DesiredCapacity?: number;
}

const parseTime = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ScalingInputError('INVALID_DATE', `scheduled action ${name}: "${value}" is not an ISO 8601 time`);
  return ms;
};

/** Checks a scheduled action's fields against the API's rules; throws ScalingInputError. */
export function checkAwsScheduledAction(name: string, a: AwsScheduledUpdateGroupAction): void {
  if (a.MinSize === undefined && a.MaxSize === undefined && a.DesiredCapacity === undefined) throw new ScalingInputError('INVALID_OPTION', `scheduled action ${name} sets none of MinSize, MaxSize, DesiredCapacity`);
  if (a.StartTime === undefined && a.Recurrence === undefined) throw new ScalingInputError('INVALID_OPTION', `scheduled action ${name} needs a StartTime or a Recurrence`);
  if (a.Recurrence !== undefined && a.Recurrence.trim().split(/\s+/).length !== 5) throw new ScalingInputError('INVALID_OPTION', `scheduled action ${name}: Recurrence "${a.Recurrence}" needs 5 cron fields`);
  if (a.Recurrence !== undefined) parseGceCron(a.Recurrence);
  const start = parseTime(name, a.StartTime);
  const end = parseTime(name, a.EndTime);
  if (start !== undefined && end !== undefined && end <= start) throw new ScalingInputError('INVALID_DATE', `scheduled action ${name}: EndTime is not after StartTime`);
  for (const [field, v] of [['MinSize', a.MinSize], ['MaxSize', a.MaxSize], ['DesiredCapacity', a.DesiredCapacity]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new ScalingInputError('INVALID_OPTION', `scheduled action ${name}: ${field} must be an integer ≥ 0 (got ${v})`);
  }
  if (a.MinSize !== undefined && a.MaxSize !== undefined && a.MinSize > a.MaxSize) throw new ScalingInputError('INVALID_OPTION', `scheduled action ${name}: MinSize above MaxSize`);
}

/** One run of a scheduled action. */
export interface AwsScheduledRun {
  atMs: number;
  /** Position of the action in the list (runs at the same instant keep this order). */
  index: number;
  action: AwsScheduledUpdateGroupAction;
}

/**
 * The runs of the actions in [fromMs, toMs], in time order; recurring runs are listed from
 * `recurrenceFromMs` (to apply every one-off action of the past but only the recent recurring ones).
 */
export function expandAwsScheduledActions(actions: readonly AwsScheduledUpdateGroupAction[], fromMs: number, toMs: number, recurrenceFromMs = fromMs): AwsScheduledRun[] {
  const runs: AwsScheduledRun[] = [];
  actions.forEach((action, index) => {
    const name = action.AutoScalingGroupName ? `${action.AutoScalingGroupName}#${index + 1}` : `#${index + 1}`;
    checkAwsScheduledAction(name, action);
    const start = parseTime(name, action.StartTime);
    const end = parseTime(name, action.EndTime) ?? Number.POSITIVE_INFINITY;
    const times = new Set<number>();
    if (start !== undefined && start >= fromMs && start <= toMs) times.add(start);
    if (action.Recurrence !== undefined) {
      const from = Math.max(recurrenceFromMs, start ?? recurrenceFromMs);
      const to = Math.min(toMs, end);
      if (!Number.isFinite(from) || !Number.isFinite(to)) throw new ScalingInputError('INVALID_OPTION', `scheduled action ${name}: its Recurrence needs a finite time range to be listed`);
      if (to >= from) for (const t of listCronInstants(parseGceCron(action.Recurrence), action.TimeZone ?? 'UTC', from, to)) times.add(t);
    }
    for (const atMs of times) runs.push({ atMs, index, action });
  });
  return runs.sort((a, b) => a.atMs - b.atMs || a.index - b.index);
}

/**
 * Applies an action as UpdateAutoScalingGroup does: the sizes it names are set; a new MinSize above the
 * desired capacity raises it, a new MaxSize below lowers it. A DesiredCapacity outside the resulting
 * limits is refused (the group is left as it was).
 */
export function applyScheduledAction(sizes: AwsGroupSizes, a: AwsScheduledUpdateGroupAction): { sizes: AwsGroupSizes; error?: string } {
  const minSize = a.MinSize ?? sizes.minSize;
  const maxSize = a.MaxSize ?? sizes.maxSize;
  if (minSize > maxSize) return { sizes, error: `MinSize ${minSize} above MaxSize ${maxSize}` };
  if (a.DesiredCapacity !== undefined) {
    if (a.DesiredCapacity < minSize || a.DesiredCapacity > maxSize) return { sizes, error: `DesiredCapacity ${a.DesiredCapacity} outside [${minSize}, ${maxSize}]` };
    return { sizes: { minSize, maxSize, desiredCapacity: a.DesiredCapacity } };
  }
  return { sizes: { minSize, maxSize, desiredCapacity: Math.min(maxSize, Math.max(minSize, sizes.desiredCapacity)) } };
}

/** Predictive scaling's documented history and forecast windows. */
export interface AwsPredictiveLimits {
  /** History needed before the first forecast. @defaultValue 24 */
  minHistoryHours: number;
  /** History the forecast learns from. @defaultValue 14 days */
  maxHistoryHours: number;
  /** Hours each forecast covers. @defaultValue 48 */
  horizonHours: number;
  /** Hours between forecasts. @defaultValue 6 */
  refreshHours: number;
}

export const AWS_PREDICTIVE_LIMITS: AwsPredictiveLimits = { minHistoryHours: 24, maxHistoryHours: 14 * 24, horizonHours: 48, refreshHours: 6 };

const HOUR_MS = 3_600_000;

/** One hour of a capacity forecast: the minimum capacity needed in that hour. */
export interface AwsCapacityForecastHour {
  hourMs: number;
  capacity: number;
}

/**
 * The forecast made at `madeAtMs` (a whole hour): for each of the next `horizonHours` hours, the load
 * forecast from the history before `madeAtMs` (same hour of the week over the last 14 days; of the day
 * with under a week; nothing with under 24 hours) turned into a capacity by `capacityForLoad`. AWS's model
 * is machine learning it does not publish; this seasonal mean has the documented inputs and blind spot.
 */
export function forecastAwsCapacity(history: readonly LoadHistoryPoint[], madeAtMs: number, capacityForLoad: (load: number) => number, limits: AwsPredictiveLimits = AWS_PREDICTIVE_LIMITS): AwsCapacityForecastHour[] {
  const out: AwsCapacityForecastHour[] = [];
  for (let h = 0; h < limits.horizonHours; h++) {
    const hourMs = madeAtMs + h * HOUR_MS;
    const load = forecastSeasonalLoad(history, madeAtMs, hourMs, limits);
    if (load === undefined) return [];
    out.push({ hourMs, capacity: capacityForLoad(load) });
  }
  return out;
}

/** When the forecast in force at `tMs` was made: the last six-hourly refresh (on UTC 00, 06, 12, 18; AWS does not say when). */
export function getForecastTime(tMs: number, limits: AwsPredictiveLimits = AWS_PREDICTIVE_LIMITS): number {
  const step = limits.refreshHours * HOUR_MS;
  return Math.floor(tMs / step) * step;
}

/**
 * The capacity predictive scaling asks for at `tMs`: the forecast of the current hour, and from
 * `schedulingBufferSeconds` before the next hour the next hour's too (the larger wins: it never scales in).
 */
export function getPredictedCapacity(forecast: readonly AwsCapacityForecastHour[], tMs: number, schedulingBufferSeconds = 300): number | undefined {
  const hour = Math.floor(tMs / HOUR_MS) * HOUR_MS;
  let best: number | undefined;
  for (const f of forecast) {
    const inForce = f.hourMs === hour || (f.hourMs === hour + HOUR_MS && tMs >= f.hourMs - schedulingBufferSeconds * 1000);
    if (inForce) best = Math.max(best ?? 0, f.capacity);
  }
  return best;
}
