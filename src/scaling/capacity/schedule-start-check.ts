/**
 * Whether the plan's AWS scheduled actions can still be created: EC2 Auto Scaling refuses an action whose
 * StartTime is in the past ("If you try to schedule your action in the past, Amazon EC2 Auto Scaling returns an
 * error message", PutScheduledUpdateGroupAction), and CloudFormation then fails the whole stack update. The
 * default window is the next sale that has not ended, so a plan run during the sale holds past actions.
 */
import type { AwsScheduledAction, PrescaleStep } from '../schedule/schedule.ts';
import type { CheckFinding } from './checks.ts';

export interface ScheduleStartCheckOptions {
  actions: readonly AwsScheduledAction[];
  now: Date;
}

export function checkScheduleStart(o: ScheduleStartCheckOptions): CheckFinding {
  const nowMs = o.now.getTime();
  const past = o.actions.filter((a) => Date.parse(a.properties.StartTime) < nowMs);
  const now = o.now.toISOString().slice(0, 16);
  if (past.length === 0) return { id: 'prescale-start', level: 'ok', message: `AWS scheduled actions: ${o.actions.length === 0 ? 'none' : `all ${o.actions.length} start after now (${now}Z)`}` };
  return {
    id: 'prescale-start',
    level: 'warning',
    message: `${past.length} of ${o.actions.length} AWS scheduled actions start before now (${now}Z; first ${past[0].properties.StartTime}): EC2 Auto Scaling refuses an action scheduled in the past, and the stack update that carries it fails`,
    fix: 'plan a window that has not started (--from/--to, --year), or apply only the actions still ahead',
  };
}

/**
 * Why a one-off schedule of each cloud whose time has passed does nothing. Neither refuses it, unlike EC2:
 * Compute Engine keeps it with status OBSOLETE ("delete scaling schedules with OBSOLETE status and schedules that
 * you don't plan to run", Scaling based on schedules), and Azure Monitor autoscale picks a fixed-date profile
 * only while now lies between its start and end (Understand autoscale settings). One whose window has begun but
 * not ended applies at once for the rest of it (a schedule edited during its window, a profile matching now).
 */
const ONE_OFF_SCHEDULES = {
  gcp: { what: 'Google Cloud scaling schedules', why: 'Compute Engine keeps a one-off schedule whose time has passed but never runs it (status OBSOLETE)' },
  azure: { what: 'Azure autoscale fixed-date profiles', why: 'Azure Monitor autoscale applies a fixed-date profile only between its start and end' },
} as const;

export interface ScheduleEndCheckOptions {
  engine: keyof typeof ONE_OFF_SCHEDULES;
  /** What the engine holds: each schedule's (or profile's) start and end, end exclusive. */
  intervals: readonly Pick<PrescaleStep, 'startMs' | 'endMs'>[];
  now: Date;
}

/** Whether some of the rendered one-off Google Cloud schedules or Azure fixed-date profiles are over before they are deployed: they would never run. */
export function checkScheduleEnd(o: ScheduleEndCheckOptions): CheckFinding {
  const { what, why } = ONE_OFF_SCHEDULES[o.engine];
  const nowMs = o.now.getTime();
  const ended = o.intervals.filter((w) => w.endMs <= nowMs);
  const now = o.now.toISOString().slice(0, 16);
  const id = 'prescale-end';
  if (ended.length === 0) return { id, level: 'ok', message: `${what}: ${o.intervals.length === 0 ? 'none' : `none of ${o.intervals.length} over before now (${now}Z)`}` };
  const effect = ended.length === o.intervals.length ? 'so the sale is not pre-scaled' : `so those pre-scale nothing (the other ${o.intervals.length - ended.length}, running or ahead, do)`;
  return {
    id,
    level: 'warning',
    message: `${ended.length} of ${o.intervals.length} ${what} ended before now (${now}Z; first ${new Date(ended[0].startMs).toISOString().slice(0, 16)}Z): ${why}, ${effect}`,
    fix: 'plan a sale still ahead (--year)',
  };
}
