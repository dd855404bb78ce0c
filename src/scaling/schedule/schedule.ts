/**
 * Scheduled scaling from a capacity plan: KEDA cron trigger windows (HPA minReplicas windows),
 * AWS Auto Scaling scheduled actions, and a plain table. Pure functions returning plain objects,
 * for the deployment generators to render.
 */
import type { CapacityPlan } from '../capacity/plan.ts';
import { getLocalTime } from '../forecast/time-zone.ts';
import { isWithinTolerance, type Tolerances } from '../simulate/hpa-replica-calculator.ts';
import type { PrescaleWindow } from '../simulate/prescale.ts';

const HOUR_MS = 3_600_000;

/** Options of the schedule. */
export interface ScheduleOptions {
  /** Capacity must be ready this long before the hour it is planned for (pod start + sync + margin). @defaultValue 10 */
  leadMinutes: number;
  /** Only hours above the HPA minimum become windows. */
  tier: 'web' | 'workers';
}

export const DEFAULT_SCHEDULE_OPTIONS: ScheduleOptions = { leadMinutes: 10, tier: 'web' };

/**
 * Merges consecutive plan hours with the same replicas into windows, starting `leadMinutes` early.
 * Hours at or below the tier's minReplicas need no window.
 */
export function getPrescaleWindows(plan: CapacityPlan, options: Partial<ScheduleOptions> = {}): PrescaleWindow[] {
  const o = { ...DEFAULT_SCHEDULE_OPTIONS, ...options };
  const min = o.tier === 'web' ? plan.web.minReplicas : plan.workers.minReplicas;
  const windows: PrescaleWindow[] = [];
  for (const h of plan.hours) {
    const replicas = o.tier === 'web' ? h.webReplicas : h.workerReplicas;
    const start = Date.parse(h.hour);
    const last = windows.at(-1);
    if (replicas <= min) continue;
    if (last && last.replicas === replicas && last.endMs === start) last.endMs = start + HOUR_MS;
    else windows.push({ startMs: start - o.leadMinutes * 60_000, endMs: start + HOUR_MS, replicas });
  }
  return windows;
}

/** A KEDA `cron` trigger (ScaledObject `spec.triggers[]`). */
export interface KedaCronTrigger {
  type: 'cron';
  name: string;
  metadata: { timezone: string; start: string; end: string; desiredReplicas: string };
}

function cronAt(ms: number, timeZone: string): string {
  const l = getLocalTime(new Date(ms), timeZone);
  return `${l.minute} ${l.hour} ${l.day} ${l.month} *`;
}

/**
 * Whether the zone's wall clock reads the same at another instant close to `ms`: the hour that happens twice
 * when clocks go back (30 minutes where they move by 30). A cron time or a local date-time in it names both
 * instants: the KEDA triggers, the Compute Engine scaling schedules and the Azure fixed-date profiles write such
 * a window in UTC.
 */
export function isRepeatedLocalTime(ms: number, timeZone: string): boolean {
  const at = cronAt(ms, timeZone);
  return [-60, -30, 30, 60].some((m) => cronAt(ms + m * 60_000, timeZone) === at);
}

/**
 * One cron trigger per window (5-field cron with day of month and month: the trigger recurs yearly
 * on that date, so regenerate the schedule for each sale), in the shop's time zone. A window that starts or
 * ends in the hour its clocks go back is written in UTC: in the shop's clock its start and end could read the
 * same (KEDA: "Start and end should not be the same"), or its end name the first of the two instants, an hour
 * early.
 */
export function toKedaCronTriggers(windows: readonly PrescaleWindow[], timeZone = 'UTC', namePrefix = 'sale-prescale'): KedaCronTrigger[] {
  return windows.map((w, i) => {
    const zone = isRepeatedLocalTime(w.startMs, timeZone) || isRepeatedLocalTime(w.endMs, timeZone) ? 'UTC' : timeZone;
    return {
      type: 'cron',
      name: `${namePrefix}-${i + 1}`,
      metadata: { timezone: zone, start: cronAt(w.startMs, zone), end: cronAt(w.endMs, zone), desiredReplicas: String(w.replicas) },
    };
  });
}

/** `AWS::AutoScaling::ScheduledAction` properties (one-off actions at StartTime, UTC). */
export interface AwsScheduledAction {
  logicalId: string;
  properties: { AutoScalingGroupName: string; MinSize: number; StartTime: string };
  /** The action sets the group back to its base floor (after a window, or a step at or below it), not a window's own count. */
  toFloor: boolean;
}

/** A stretch of time with one pre-scaled floor (windows' overlaps resolved). */
export interface PrescaleStep {
  startMs: number;
  /** Exclusive. */
  endMs: number;
  replicas: number;
}

/**
 * The floor the windows set over time, as consecutive non-overlapping steps: at each instant the largest
 * replicas of the windows in force, as KEDA (several cron triggers: the max), Compute Engine (overlapping
 * schedules: the greatest) and the EC2 scheduled actions below apply them. A window's lead starts a higher
 * floor early; a lower window takes over only when the higher one ends, not at its own lead. Instants
 * outside every window have no step.
 */
export function getPrescaleSteps(windows: readonly PrescaleWindow[]): PrescaleStep[] {
  const points = [...new Set(windows.flatMap((w) => [w.startMs, w.endMs]))].sort((a, b) => a - b);
  const steps: PrescaleStep[] = [];
  for (let i = 0; i < points.length - 1; i++) {
    const [t, next] = [points[i], points[i + 1]];
    const active = windows.filter((w) => w.startMs <= t && t < w.endMs).map((w) => w.replicas);
    if (active.length === 0) continue;
    const replicas = Math.max(...active);
    const last = steps.at(-1);
    if (last && last.endMs === t && last.replicas === replicas) last.endMs = next;
    else steps.push({ startMs: t, endMs: next, replicas });
  }
  return steps;
}

/**
 * At most `limit` steps: while there are more, the two neighbouring steps whose join adds the fewest
 * replica-hours become one, at the higher of their floors over both and the time between them. The floor
 * never drops below the plan's; it costs the extra instance-hours instead.
 */
export function fitPrescaleSteps(steps: readonly PrescaleStep[], limit: number, baseMin: number): PrescaleStep[] {
  const out = steps.map((s) => ({ ...s }));
  while (out.length > Math.max(1, limit)) {
    let best = 0;
    let bestExtra = Number.POSITIVE_INFINITY;
    for (let i = 0; i < out.length - 1; i++) {
      const [a, b] = [out[i], out[i + 1]];
      const r = Math.max(a.replicas, b.replicas);
      const extra = (r - a.replicas) * (a.endMs - a.startMs) + (r - b.replicas) * (b.endMs - b.startMs) + Math.max(0, r - baseMin) * (b.startMs - a.endMs);
      if (extra < bestExtra) [best, bestExtra] = [i, extra];
    }
    const [a, b] = [out[best], out[best + 1]];
    out.splice(best, 2, { startMs: a.startMs, endMs: b.endMs, replicas: Math.max(a.replicas, b.replicas) });
  }
  return out;
}

/** A KEDA cron step the HPA would have ignored (its ratio to the count it steps from within the tolerance), raised. */
export interface RaisedPrescaleStep {
  /** When the step starts (its lead included), UTC ISO. */
  from: string;
  /** The count the HPA runs when the step starts. */
  fromReplicas: number;
  /** What the plan asked for. */
  plannedReplicas: number;
  /**
   * What the cron trigger asks for instead: the smallest count above `fromReplicas` outside the tolerance, even
   * above the maximum (the HPA proposes it, then clamps it to the maximum; KEDA takes any desiredReplicas ≥ 1).
   */
  replicas: number;
  /** The count the HPA then reaches: `min(replicas, maxReplicas)`. */
  reachedReplicas: number;
  reason: string;
}

/** The windows for KEDA cron triggers, with the steps the HPA would ignore raised, and the count the HPA then runs. */
export interface HpaPrescale {
  windows: PrescaleWindow[];
  raised: RaisedPrescaleStep[];
  /** The replicas the HPA reaches inside the windows: a step down within the tolerance keeps the higher count. */
  steps: PrescaleStep[];
}

/**
 * The HPA that KEDA creates reads a cron trigger as an External AverageValue metric (target 1 per pod): it keeps
 * its current count M while `1 − tol ≤ desired / M ≤ 1 + tol` (replica_calculator.go, `GetExternalPerPodMetricReplicas`),
 * so a step from 10 to 11 (ratio 1.1) never happens. Walking the windows' floor step by step from the HPA's
 * minimum, each step up inside the tolerance is raised to the smallest count the HPA honours, floor((1 + tol)·M) + 1
 * (found with the simulator's own tolerance test). That count is not capped at `maxReplicas`: one capped there can
 * still be inside the tolerance (20 → 22 with max 22 is ignored), while a larger desiredReplicas is proposed and
 * clamped to the maximum by the HPA, which then runs `min(raised, maxReplicas)` (`steps`, `reachedReplicas`); KEDA's
 * cron scaler accepts any desiredReplicas ≥ 1, whatever maxReplicaCount is. A step down inside the tolerance is left
 * alone (the HPA keeps the higher count, which `steps` shows). `tolerance` is one for both directions or the HPA's
 * per-direction pair (`getHpaTolerances`: `behavior.*.tolerance` over the controller flag). AWS scheduled actions, Compute Engine scaling schedules
 * and Azure fixed-date profiles set a floor with no tolerance: they take the plan's windows as they are.
 */
export function applyHpaTolerance(windows: readonly PrescaleWindow[], hpaMinReplicas: number, maxReplicas: number, tolerance: number | Tolerances = 0.1): HpaPrescale {
  const tol = typeof tolerance === 'number' ? { scaleUp: tolerance, scaleDown: tolerance } : tolerance;
  const ws = windows.map((w) => ({ ...w }));
  const raised = new Map<PrescaleWindow, RaisedPrescaleStep>();
  const min = Math.max(1, hpaMinReplicas);
  for (;;) {
    const steps = getPrescaleSteps(ws);
    const effective: PrescaleStep[] = [];
    let current = min;
    let end: number | undefined;
    let changed = false;
    for (const s of steps) {
      // Between windows the cron metric is 0: the HPA is back at its minimum (the plan needs no more there).
      if (end !== s.startMs) current = min;
      end = s.endMs;
      const ratio = s.replicas / current;
      // At the maximum the HPA can go no higher: nothing to raise.
      if (s.replicas > current && current < maxReplicas && isWithinTolerance(tol, ratio)) {
        let target = current + 1;
        while (isWithinTolerance(tol, target / current)) target++;
        if (target > s.replicas) {
          for (const w of ws) {
            if (w.replicas !== s.replicas || w.startMs > s.startMs || s.startMs >= w.endMs) continue;
            const planned = raised.get(w)?.plannedReplicas ?? w.replicas;
            raised.set(w, {
              from: new Date(s.startMs).toISOString(),
              fromReplicas: current,
              plannedReplicas: planned,
              replicas: target,
              reachedReplicas: Math.min(target, maxReplicas),
              reason: `${s.replicas}/${current} = ${(ratio).toFixed(3)} is within the HPA tolerance ${tol.scaleUp === tol.scaleDown ? '±' : '+'}${tol.scaleUp}: the HPA would keep ${current}`,
            });
            w.replicas = target;
          }
          changed = true;
          break;
        }
      }
      // Outside the tolerance the HPA proposes the cron's count and clamps it to the maximum.
      if (!(s.replicas !== current && isWithinTolerance(tol, ratio))) current = Math.min(s.replicas, maxReplicas);
      const last = effective.at(-1);
      if (last && last.endMs === s.startMs && last.replicas === current) last.endMs = s.endMs;
      else effective.push({ startMs: s.startMs, endMs: s.endMs, replicas: current });
    }
    if (!changed) return { windows: ws, raised: [...raised.values()].sort((a, b) => a.from.localeCompare(b.from)), steps: effective };
  }
}

/** Scheduled actions per Auto Scaling group (an EC2 Auto Scaling quota that cannot be raised). */
export const AWS_MAX_SCHEDULED_ACTIONS = 125;

/**
 * Scheduled actions that raise MinSize at each window start and lower it when the schedule drops
 * (back to `baseMinSize` after the last window). Overlapping windows resolve to the max. At most
 * `AWS_MAX_SCHEDULED_ACTIONS`: more steps than that are joined (`fitPrescaleSteps`).
 */
export function toAwsScheduledActions(windows: readonly PrescaleWindow[], autoScalingGroupName: string, baseMinSize: number): AwsScheduledAction[] {
  const toActions = (steps: readonly PrescaleStep[]) => {
    const actions: AwsScheduledAction[] = [];
    let current = baseMinSize;
    const setMinSize = (t: number, min: number) => {
      if (min === current) return;
      current = min;
      const stamp = new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
      actions.push({ logicalId: `SalePrescale${actions.length + 1}`, properties: { AutoScalingGroupName: autoScalingGroupName, MinSize: min, StartTime: stamp }, toFloor: min === baseMinSize });
    };
    steps.forEach((step, i) => {
      setMinSize(step.startMs, Math.max(baseMinSize, step.replicas));
      if (steps[i + 1]?.startMs !== step.endMs) setMinSize(step.endMs, baseMinSize);
    });
    return actions;
  };
  // Past the group's quota, neighbouring steps are joined (at the higher floor) until the actions fit.
  let steps = getPrescaleSteps(windows);
  let actions = toActions(steps);
  while (actions.length > AWS_MAX_SCHEDULED_ACTIONS) {
    steps = fitPrescaleSteps(steps, steps.length - 1, baseMinSize);
    actions = toActions(steps);
  }
  return actions;
}

/** A row of the plain schedule table. */
export interface ScheduleRow {
  from: string;
  to: string;
  webReplicas: number;
  workerReplicas: number;
}

/** Plain table: one row per run of equal (web, worker) replicas. */
export function toScheduleTable(plan: CapacityPlan): ScheduleRow[] {
  const rows: ScheduleRow[] = [];
  for (const h of plan.hours) {
    const end = new Date(Date.parse(h.hour) + HOUR_MS).toISOString();
    const last = rows.at(-1);
    if (last && last.webReplicas === h.webReplicas && last.workerReplicas === h.workerReplicas && last.to === h.hour) last.to = end;
    else rows.push({ from: h.hour, to: end, webReplicas: h.webReplicas, workerReplicas: h.workerReplicas });
  }
  return rows;
}
