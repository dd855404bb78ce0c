/**
 * The Azure Monitor autoscale engine of a `Microsoft.Insights/autoscalesettings` resource, from
 * Microsoft's documentation (azure-monitor/autoscale/: autoscale-understanding-settings,
 * autoscale-best-practices, autoscale-flapping, autoscale-multiprofile, autoscale-predictive; the
 * 2022-10-01 REST spec for names and enums). Microsoft publishes no source: each rule below names the
 * sentence it implements in `azure-autoscale.test.ts`.
 *
 * One run: choose the profile (fixed date, then recurrence, then default), enforce its capacity, then
 * (outside the cooldown) scale out if any increase rule fires — to the highest count — else scale in
 * if every decrease rule fires — to the highest count — after the flapping check, which projects each
 * metric to the new count and falls back to a smaller step or skips. Pure: state in, state out.
 */
import { findIanaAliases, WINDOWS_TO_IANA_MAP } from 'windows-iana';
import { quoteInput, ScalingInputError } from '../errors.ts';
import { getInstantOfLocalTime, getLocalTime } from '../forecast/time-zone.ts';

export type AzureOperator = 'Equals' | 'NotEquals' | 'GreaterThan' | 'GreaterThanOrEqual' | 'LessThan' | 'LessThanOrEqual';
export type AzureStatistic = 'Average' | 'Min' | 'Max' | 'Sum' | 'Count';
export type AzureTimeAggregation = 'Average' | 'Minimum' | 'Maximum' | 'Total' | 'Count' | 'Last';
export type AzureScaleType = 'ChangeCount' | 'PercentChangeCount' | 'ExactCount';

/** `metricTrigger` (durations as ISO 8601 strings, as in the resource). */
export interface AzureMetricTrigger {
  metricName: string;
  metricResourceUri?: string;
  timeGrain: string;
  statistic: AzureStatistic;
  timeWindow: string;
  timeAggregation: AzureTimeAggregation;
  operator: AzureOperator;
  threshold: number;
  dividePerInstance?: boolean;
}

export interface AzureScaleAction {
  direction: 'Increase' | 'Decrease';
  type: AzureScaleType;
  /** A string in the resource ("1"). */
  value: string;
  cooldown: string;
}

export interface AzureRule {
  metricTrigger: AzureMetricTrigger;
  scaleAction: AzureScaleAction;
}

export interface AzureProfile {
  name: string;
  /** Strings in the resource. */
  capacity: { minimum: string; maximum: string; default: string };
  rules: AzureRule[];
  fixedDate?: { timeZone: string; start: string; end: string };
  recurrence?: { frequency: 'Week'; schedule: { timeZone: string; days: string[]; hours: number[]; minutes: number[] } };
}

export interface AzureAutoscaleSetting {
  enabled: boolean;
  profiles: AzureProfile[];
  predictiveAutoscalePolicy?: { scaleMode: 'Disabled' | 'ForecastOnly' | 'Enabled'; scaleLookAheadTime?: string };
}

/**
 * Windows time zone IDs ↔ IANA zones, from CLDR's windowsZones.xml (common/supplemental) as kept by the
 * `windows-iana` package: every Windows ID names its territory-"001" zone (Romance Standard Time → Europe/Paris),
 * and every zone of any territory names its Windows ID (Europe/Madrid → Romance Standard Time). Zones are
 * compared by their canonical name in this runtime's ICU, which differs from CLDR's for some (Asia/Calcutta and
 * Asia/Kolkata, Europe/Kiev and Europe/Kyiv, Etc/UTC and UTC): both sides are read through `Intl`.
 */
function canonicalZone(zone: string): string | undefined {
  if (zone === '') return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/**
 * Two IDs the autoscale API still lists (2022-10-01 REST spec) that Windows retired and CLDR no longer maps:
 * read as the zone each named, "(UTC-02:00) Mid-Atlantic - Old" at its fixed offset and
 * "(UTC+12:00) Petropavlovsk-Kamchatsky - Old" as Kamchatka. Never written (the renderers write CLDR IDs).
 */
const RETIRED_WINDOWS_ZONES: Readonly<Record<string, string>> = { 'Mid-Atlantic Standard Time': 'Etc/GMT+2', 'Kamchatka Standard Time': 'Asia/Kamchatka' };

/** Windows ID → the IANA zone it is read as. */
const WINDOWS_TO_IANA = new Map<string, string>();
/** Canonical IANA zone → its Windows ID. */
const IANA_TO_WINDOWS = new Map<string, string>();
for (const { windowsName, territory, iana } of WINDOWS_TO_IANA_MAP) if (territory === '001' && iana[0]) WINDOWS_TO_IANA.set(windowsName, iana[0]);
for (const [id, zone] of Object.entries(RETIRED_WINDOWS_ZONES)) WINDOWS_TO_IANA.set(id, zone);
// The "001" rows first: a zone listed under two IDs (none is today) would keep the one it is primary for.
for (const { windowsName, iana } of [...WINDOWS_TO_IANA_MAP].sort((a, b) => Number(b.territory === '001') - Number(a.territory === '001'))) {
  for (const zone of iana.flatMap((z) => findIanaAliases(z))) {
    const canonical = canonicalZone(zone);
    if (canonical && !IANA_TO_WINDOWS.has(canonical)) IANA_TO_WINDOWS.set(canonical, windowsName);
  }
}

/** Whether an autoscale profile may name this Windows time zone ID (CLDR's, or one of the two retired IDs Azure still lists). */
export function isWindowsTimeZone(windowsId: string): boolean {
  return WINDOWS_TO_IANA.has(windowsId);
}

/** The Windows ID for an IANA zone or alias (the renderers write profiles in Windows IDs). */
export function toWindowsTimeZone(iana: string): string {
  const canonical = canonicalZone(iana);
  if (canonical === undefined) throw new ScalingInputError('INVALID_OPTION', `no Windows time zone ID for ${quoteInput(iana)}: not an IANA time zone`);
  const id = IANA_TO_WINDOWS.get(canonical);
  if (!id) throw new ScalingInputError('INVALID_OPTION', `no Windows time zone ID for ${quoteInput(iana)}: CLDR windowsZones maps no Windows zone to it`);
  return id;
}

/** The IANA zone a profile's Windows time zone ID is read as. */
function toIana(windowsId: string): string {
  const zone = typeof windowsId === 'string' ? WINDOWS_TO_IANA.get(windowsId) : undefined;
  if (!zone) throw new ScalingInputError('INVALID_OPTION', `unknown Windows time zone ID ${quoteInput(windowsId)}`);
  return zone;
}

/** ISO 8601 duration (PT1M, PT1H30M, P1D) in seconds. */
export function parseIsoDuration(text: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) throw new ScalingInputError('INVALID_OPTION', `"${text}" is not an ISO 8601 duration`);
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

/**
 * A fixedDate `YYYY-MM-DDTHH:MM[:SS[.fff]]` in a Windows zone, as an instant: the time read in `windowsZone`. TimeWindow's
 * start and end are `format: date-time` in the REST spec, and Azure writes a UTC profile's times with a `Z` (its own example:
 * timeZone "UTC", start "2015-03-05T14:00:00Z"), so in the zone "UTC" a `Z` or `+00:00` is the same time. Any other offset,
 * or an offset with another zone, says two different things (what Azure makes of it is not documented): refused, named.
 */
export function parseLocalDateTime(text: string, windowsZone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?([Zz]|[+-]\d{2}:\d{2})?$/.exec(text);
  if (!m) throw new ScalingInputError('INVALID_OPTION', `fixedDate "${text}" is not YYYY-MM-DDTHH:MM[:SS[.fffffff]][Z|±HH:MM]`);
  const offset = m[8]?.toUpperCase();
  if (offset !== undefined && !(windowsZone === 'UTC' && ['Z', '+00:00', '-00:00'].includes(offset))) {
    throw new ScalingInputError(
      'INVALID_OPTION',
      `fixedDate "${text}" has the UTC offset ${offset} while its timeZone is "${windowsZone}": give the time in that zone without an offset, or a UTC time (Z) with timeZone "UTC"`,
    );
  }
  // Date.UTC rolls 30 February or hour 25 over to a later moment; ARM refuses them.
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  if (new Date(Date.UTC(year, month - 1, day, hour, minute, second)).toISOString().slice(0, 19) !== `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}`) {
    throw new ScalingInputError('INVALID_OPTION', `fixedDate "${text}" names no date and time of the calendar`);
  }
  // Cut to the millisecond, not rounded (.NET keeps the fraction in ticks): 59.9999 s stays in its minute.
  const fraction = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  const hourStart = getInstantOfLocalTime(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), toIana(windowsZone)).getTime();
  return hourStart + Number(m[5]) * 60_000 + Number(m[6] ?? 0) * 1000 + fraction;
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * The latest start of a recurrence at or before t, or undefined. It looks back a week and two hours: the
 * week in which clocks go back is 169 local hours long (two hours covers any zone's DST shift).
 */
function getLatestRecurrenceStart(r: NonNullable<AzureProfile['recurrence']>, tMs: number): number | undefined {
  const zone = toIana(r.schedule.timeZone);
  for (let back = 0; back <= (7 * 24 + 2) * 60; back++) {
    const at = Math.floor(tMs / 60_000) * 60_000 - back * 60_000;
    const l = getLocalTime(new Date(at), zone);
    if (r.schedule.days.includes(DAY_NAMES[l.dayOfWeek]) && r.schedule.hours.includes(l.hour) && r.schedule.minutes.includes(l.minute)) return at;
  }
  return undefined;
}

/**
 * The profile of a run: the first fixed-date profile whose [start, end] holds t (end is a minute, included), else the recurrence
 * profile that started last (it lasts until the next profile starts), else the default profile
 * (neither fixedDate nor recurrence). The order among several matching fixed-date profiles is not
 * documented: the first in the list wins here.
 */
export function selectAzureProfile(profiles: readonly AzureProfile[], tMs: number): AzureProfile | undefined {
  for (const p of profiles) {
    if (p.fixedDate && parseLocalDateTime(p.fixedDate.start, p.fixedDate.timeZone) <= tMs && tMs < parseLocalDateTime(p.fixedDate.end, p.fixedDate.timeZone) + 60_000) return p;
  }
  let best: { p: AzureProfile; start: number } | undefined;
  for (const p of profiles) {
    if (!p.recurrence) continue;
    const start = getLatestRecurrenceStart(p.recurrence, tMs);
    if (start !== undefined && (!best || start > best.start)) best = { p, start };
  }
  if (best) return best.p;
  return profiles.find((p) => !p.fixedDate && !p.recurrence);
}

/** Aggregates the per-grain samples of the time window. */
export function aggregateWindow(samples: readonly number[], aggregation: AzureTimeAggregation): number {
  switch (aggregation) {
    case 'Average':
      return samples.reduce((s, v) => s + v, 0) / samples.length;
    case 'Minimum':
      return Math.min(...samples);
    case 'Maximum':
      return Math.max(...samples);
    case 'Total':
      return samples.reduce((s, v) => s + v, 0);
    case 'Count':
      return samples.length;
    case 'Last':
      return samples[samples.length - 1];
  }
}

export function compareThreshold(value: number, operator: AzureOperator, threshold: number): boolean {
  switch (operator) {
    case 'Equals':
      return value === threshold;
    case 'NotEquals':
      return value !== threshold;
    case 'GreaterThan':
      return value > threshold;
    case 'GreaterThanOrEqual':
      return value >= threshold;
    case 'LessThan':
      return value < threshold;
    case 'LessThanOrEqual':
      return value <= threshold;
  }
}

/** The count a scale action asks for (PercentChangeCount rounding is not documented: the step is rounded up, at least 1). */
export function applyScaleAction(current: number, action: AzureScaleAction): number {
  const value = Number(action.value);
  // REST spec ScaleAction.value: "the number of instances that are involved in the scaling action. This value must be 1 or greater."
  if (!(Number.isInteger(value) && value >= 1)) throw new ScalingInputError('INVALID_OPTION', `scaleAction.value "${action.value}" must be a whole number ≥ 1`);
  const sign = action.direction === 'Increase' ? 1 : -1;
  switch (action.type) {
    case 'ChangeCount':
      return current + sign * value;
    case 'PercentChangeCount':
      return current + sign * Math.max(1, Math.ceil((current * value) / 100 - 1e-9));
    case 'ExactCount':
      return value;
  }
}

/** What the engine reads at one run. */
export interface AzureObservation {
  nowMs: number;
  /** Current instance count. */
  current: number;
  /**
   * The aggregated window value of each rule's trigger in the selected profile (index = rule index),
   * before `dividePerInstance`; undefined when the metric cannot be read.
   */
  metricValue: (rule: AzureRule) => number | undefined;
  /** Predictive autoscale: forecast mean Percentage CPU per instance at now + look-ahead, at the current count. */
  predictedCpuPercent?: number;
}

export interface AzureAutoscaleState {
  /** No action before this instant (cooldown of the rule that fired last). */
  cooldownUntilMs: number;
}

export interface AzureDecision {
  profile: string | undefined;
  newCount: number;
  /** 'capacity', 'default', 'scale out', 'scale in', 'flapping: reduced', 'flapping: skipped', 'cooldown', 'predictive', or ''. */
  reason: string;
  state: AzureAutoscaleState;
}

function readMetric(rule: AzureRule, obs: AzureObservation, count: number): number | undefined {
  const v = obs.metricValue(rule);
  if (v === undefined) return undefined;
  return rule.metricTrigger.dividePerInstance ? v / count : v;
}

/**
 * The value a metric would show at `next` instances: averages (and per-instance values) scale by
 * current / next; a group total without dividePerInstance stays (its projection is not documented).
 */
export function projectMetric(rule: AzureRule, value: number, current: number, next: number): number {
  const perInstance = rule.metricTrigger.dividePerInstance || rule.metricTrigger.statistic === 'Average';
  return perInstance ? (value * current) / next : value;
}

function firesAt(rule: AzureRule, obs: AzureObservation, count: number): boolean {
  const v = readMetric(rule, obs, obs.current);
  if (v === undefined) return false;
  return compareThreshold(projectMetric(rule, v, obs.current, count), rule.metricTrigger.operator, rule.metricTrigger.threshold);
}

/** One run of the engine. */
export function evaluateAzureAutoscale(setting: AzureAutoscaleSetting, state: AzureAutoscaleState, obs: AzureObservation): AzureDecision {
  const keep = (reason: string, profile?: string): AzureDecision => ({ profile, newCount: obs.current, reason, state });
  if (!setting.enabled) return keep('');
  const profile = selectAzureProfile(setting.profiles, obs.nowMs);
  if (!profile) return keep('');
  const min = Number(profile.capacity.minimum);
  const max = Number(profile.capacity.maximum);
  const def = Number(profile.capacity.default);
  // Limits first: a count outside the profile's bounds is corrected on this run.
  if (obs.current < min) return { profile: profile.name, newCount: min, reason: 'capacity', state };
  if (obs.current > max) return { profile: profile.name, newCount: max, reason: 'capacity', state };
  const values = profile.rules.map((r) => readMetric(r, obs, obs.current));
  if (profile.rules.length > 0 && values.every((v) => v === undefined)) {
    return obs.current < def ? { profile: profile.name, newCount: def, reason: 'default', state } : keep('', profile.name);
  }
  if (obs.nowMs < state.cooldownUntilMs) return keep('cooldown', profile.name);
  const act = (newCount: number, rule: AzureRule, reason: string): AzureDecision => ({
    profile: profile.name,
    newCount,
    reason,
    state: { cooldownUntilMs: obs.nowMs + parseIsoDuration(rule.scaleAction.cooldown) * 1000 },
  });

  const out = profile.rules.filter((r) => r.scaleAction.direction === 'Increase');
  let best: { count: number; rule: AzureRule; reason: string } | undefined;
  for (const rule of out) {
    const v = readMetric(rule, obs, obs.current);
    const fired = v !== undefined && compareThreshold(v, rule.metricTrigger.operator, rule.metricTrigger.threshold);
    // Predictive: the forecast CPU crossing a Percentage CPU scale-out threshold fires that rule early.
    const predicted =
      setting.predictiveAutoscalePolicy?.scaleMode === 'Enabled' &&
      rule.metricTrigger.metricName === 'Percentage CPU' &&
      obs.predictedCpuPercent !== undefined &&
      compareThreshold(obs.predictedCpuPercent, rule.metricTrigger.operator, rule.metricTrigger.threshold);
    if (!fired && !predicted) continue;
    const count = Math.min(max, applyScaleAction(obs.current, rule.scaleAction));
    if (!best || count > best.count) best = { count, rule, reason: fired ? 'scale out' : 'predictive' };
  }
  if (best) return best.count > obs.current ? act(best.count, best.rule, best.reason) : keep('', profile.name);

  const inRules = profile.rules.filter((r) => r.scaleAction.direction === 'Decrease');
  if (inRules.length === 0) return keep('', profile.name);
  const allFire = inRules.every((rule) => {
    const v = readMetric(rule, obs, obs.current);
    return v !== undefined && compareThreshold(v, rule.metricTrigger.operator, rule.metricTrigger.threshold);
  });
  if (!allFire) return keep('', profile.name);
  // The highest resulting count: scale in by as little as the rules allow.
  let target = -Infinity;
  let chosen = inRules[0];
  for (const rule of inRules) {
    const c = applyScaleAction(obs.current, rule.scaleAction);
    if (c > target) [target, chosen] = [c, rule];
  }
  target = Math.max(min, target);
  if (target >= obs.current) return keep('', profile.name);
  // Flapping: would any scale-out rule fire at the new count? Try the counts between, nearest the target first.
  const flaps = (count: number) => out.some((rule) => firesAt(rule, obs, count));
  if (!flaps(target)) return act(target, chosen, 'scale in');
  for (let c = target + 1; c < obs.current; c++) if (!flaps(c)) return act(c, chosen, 'flapping: reduced');
  return keep('flapping: skipped', profile.name);
}
