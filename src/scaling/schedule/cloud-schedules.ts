/**
 * Pre-scaling windows → Google Cloud scaling schedules and Azure autoscale profiles. The simulator
 * and the deployment renderers (deploy/gcp, deploy/azure) build from these, so the simulated
 * policy is the configured one.
 */
import { getLocalTime } from '../forecast/time-zone.ts';
import type { AzureAutoscaleSetting, AzureProfile, AzureRule } from '../simulate/azure-autoscale.ts';
import { toWindowsTimeZone } from '../simulate/azure-autoscale.ts';
import { ScalingInputError } from '../errors.ts';
import { GCE_CRON_YEARS, type GceScalingSchedule } from '../simulate/gce-schedules.ts';
import type { PrescaleWindow } from '../simulate/prescale.ts';
import { fitPrescaleSteps, getPrescaleSteps, isRepeatedLocalTime } from './schedule.ts';

/** Scaling schedules per autoscaler (Compute Engine's limit; terraform-validate checks the rendered files against it). */
export const GCE_MAX_SCALING_SCHEDULES = 128;

/**
 * One one-off scaling schedule per window: a 6-field cron with the year (it runs once), the window's
 * length as durationSec and its replicas as minRequiredReplicas. At most 128 per autoscaler ("You can create
 * up to 128 scaling schedules per MIG", Compute Engine, Scaling based on schedules): more windows than that
 * become their floor's steps, joined (`fitPrescaleSteps`) until they fit.
 *
 * The cron's year field takes 2000–2036 only, and without it a schedule recurs every year, so a window after
 * 2036 has no one-off schedule: `pastCronYears: 'refuse'` (what is deployed) throws INVALID_OPTION naming the
 * limit; `'omit-year'` (the simulator's comparison, whose span is at most 45 days) writes the 5-field cron, which starts
 * once inside the simulated span exactly as the one-off would.
 */
export function toGceScalingSchedules(
  windows: readonly PrescaleWindow[],
  timeZone = 'UTC',
  namePrefix = 'sale-prescale',
  pastCronYears: 'refuse' | 'omit-year' = 'refuse',
): Record<string, GceScalingSchedule> {
  const out: Record<string, GceScalingSchedule> = {};
  const [, lastYear] = GCE_CRON_YEARS;
  getGceScheduleWindows(windows).forEach((w, i) => {
    // A start in the hour clocks go back names two instants (the later an hour late): that schedule is written in UTC.
    const zone = isRepeatedLocalTime(w.startMs, timeZone) ? 'UTC' : timeZone;
    const l = getLocalTime(new Date(w.startMs), zone);
    if (l.year > lastYear && pastCronYears === 'refuse') {
      const p = (n: number) => String(n).padStart(2, '0');
      throw new ScalingInputError(
        'INVALID_OPTION',
        `Compute Engine scaling schedules take a year up to ${lastYear} (cron year field ${GCE_CRON_YEARS[0]}–${lastYear}; without it the schedule recurs every year): the pre-scaling window starting ${l.year}-${p(l.month)}-${p(l.day)} ${p(l.hour)}:${p(l.minute)} (${zone}) has no one-off schedule; use --year ${lastYear} or earlier, or leave gcp out of --target`,
        { year: l.year, limit: lastYear },
      );
    }
    out[`${namePrefix}-${i + 1}`] = {
      minRequiredReplicas: w.replicas,
      schedule: `${l.minute} ${l.hour} ${l.day} ${l.month} *${l.year > lastYear ? '' : ` ${l.year}`}`,
      timeZone: zone,
      durationSec: Math.round((w.endMs - w.startMs) / 1000),
      description: `${w.replicas} VMs from the capacity plan`,
    };
  });
  return out;
}

/**
 * The intervals the scaling schedules of `toGceScalingSchedules` run, in its order: one per window, past the limit
 * the windows' floor as steps, neighbouring ones joined at the higher minimum (never lower); each at least the
 * 300 s Compute Engine requires of `durationSec`.
 */
export function getGceScheduleWindows(windows: readonly PrescaleWindow[]): PrescaleWindow[] {
  const fitted = windows.length > GCE_MAX_SCALING_SCHEDULES ? fitPrescaleSteps(getPrescaleSteps(windows), GCE_MAX_SCALING_SCHEDULES, 0) : windows;
  return fitted.map((w) => ({ startMs: w.startMs, endMs: w.startMs + Math.max(300, Math.round((w.endMs - w.startMs) / 1000)) * 1000, replicas: w.replicas }));
}

/** The rules every profile carries: out on high CPU, in on low CPU (a margin between the two avoids flapping). */
export interface AzureRuleParams {
  /** Scale out when the 5-minute mean Percentage CPU is above this. */
  scaleOutCpuPercent: number;
  /** Scale in when the 10-minute mean is below this. */
  scaleInCpuPercent: number;
  /** Instances added per scale-out, % of the current count. */
  scaleOutPercent: number;
  scaleOutCooldown: string;
  scaleInCooldown: string;
}

export const DEFAULT_AZURE_RULES: AzureRuleParams = { scaleOutCpuPercent: 70, scaleInCpuPercent: 40, scaleOutPercent: 50, scaleOutCooldown: 'PT5M', scaleInCooldown: 'PT10M' };

export function buildAzureRules(p: AzureRuleParams, metricResourceUri?: string): AzureRule[] {
  const trigger = (timeWindow: string, operator: 'GreaterThan' | 'LessThan', threshold: number) => ({
    metricName: 'Percentage CPU',
    ...(metricResourceUri ? { metricResourceUri } : {}),
    timeGrain: 'PT1M',
    statistic: 'Average' as const,
    timeWindow,
    timeAggregation: 'Average' as const,
    operator,
    threshold,
  });
  return [
    { metricTrigger: trigger('PT5M', 'GreaterThan', p.scaleOutCpuPercent), scaleAction: { direction: 'Increase', type: 'PercentChangeCount', value: String(p.scaleOutPercent), cooldown: p.scaleOutCooldown } },
    { metricTrigger: trigger('PT10M', 'LessThan', p.scaleInCpuPercent), scaleAction: { direction: 'Decrease', type: 'ChangeCount', value: '1', cooldown: p.scaleInCooldown } },
  ];
}

function localIso(ms: number, timeZone: string): string {
  const l = getLocalTime(new Date(ms), timeZone);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${l.year}-${p(l.month)}-${p(l.day)}T${p(l.hour)}:${p(l.minute)}:00`;
}

export interface AzureSettingInput {
  min: number;
  max: number;
  rules: AzureRuleParams;
  windows: readonly PrescaleWindow[];
  /** IANA zone of the sale; written as its Windows ID. */
  timeZone: string;
  predictive?: 'Disabled' | 'ForecastOnly' | 'Enabled';
  /** Look-ahead of predictive autoscale. @defaultValue 'PT15M' */
  lookAhead?: string;
  metricResourceUri?: string;
}

/** At most 20 profiles per setting: the default one and up to 19 fixed-date ones. */
export const AZURE_MAX_PROFILES = 20;

/**
 * The default profile (the autoscaler's bounds) and one fixed-date profile per step of the windows' floor
 * (`getPrescaleSteps`), whose minimum is the step's replicas. Windows overlap by the lead time: a higher
 * window takes over at its lead, a lower one only when the higher one ends, as on the other platforms (a
 * profile per window, each cut at the next one's start, dropped to a lower window at its lead). A profile
 * ends one minute before the next one starts, so exactly one matches at any instant (the order among
 * matching fixed-date profiles is not documented). More steps than the setting's 19 fixed-date profiles are
 * joined (`fitPrescaleSteps`). A profile that starts or ends in the hour clocks go back is written in UTC
 * (`isRepeatedLocalTime`), as are such KEDA triggers and Compute Engine scaling schedules.
 */
export function buildAzureAutoscaleSetting(input: AzureSettingInput): AzureAutoscaleSetting {
  const zone = toWindowsTimeZone(input.timeZone);
  const rules = buildAzureRules(input.rules, input.metricResourceUri);
  const steps = getAzureProfileSteps(input.windows, input.min);
  const fixed: AzureProfile[] = steps.map((s, i) => {
    // A start or end in the hour clocks go back names two instants (an end could read before its start): that profile is in UTC.
    const utc = isRepeatedLocalTime(s.startMs, input.timeZone) || isRepeatedLocalTime(s.endMs, input.timeZone);
    const local = utc ? 'UTC' : input.timeZone;
    return {
      name: `sale-window-${i + 1}`,
      capacity: { minimum: String(s.replicas), maximum: String(Math.max(input.max, s.replicas)), default: String(s.replicas) },
      rules,
      fixedDate: { timeZone: utc ? 'UTC' : zone, start: localIso(s.startMs, local), end: localIso(s.endMs, local) },
    };
  });
  return {
    enabled: true,
    profiles: [{ name: 'default', capacity: { minimum: String(input.min), maximum: String(input.max), default: String(input.min) }, rules }, ...fixed],
    ...(input.predictive ? { predictiveAutoscalePolicy: { scaleMode: input.predictive, ...(input.predictive !== 'Disabled' ? { scaleLookAheadTime: input.lookAhead ?? 'PT15M' } : {}) } } : {}),
  };
}

/**
 * The fixed-date profiles `buildAzureAutoscaleSetting` writes, in its order, each with the start and end it is
 * written with: a step of the windows' floor, ending the minute before the step ends (so before the next one
 * starts). The one source of those ends, so that what checks them (`checkScheduleEnd`) counts what is written.
 */
export function getAzureProfileSteps(windows: readonly PrescaleWindow[], min: number): PrescaleWindow[] {
  return fitPrescaleSteps(getPrescaleSteps(windows), AZURE_MAX_PROFILES - 1, min).map((s) => ({ ...s, endMs: s.endMs - 60_000 }));
}
