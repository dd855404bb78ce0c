/**
 * Whether the plan's AWS scheduled actions can still be created: EC2 Auto Scaling refuses an action whose
 * StartTime is in the past ("If you try to schedule your action in the past, Amazon EC2 Auto Scaling returns an
 * error message", PutScheduledUpdateGroupAction), and CloudFormation then fails the whole stack update. The
 * default window is the next sale that has not ended, so a plan run during the sale holds past actions.
 */
import type { AwsScheduledAction } from '../schedule/schedule.ts';
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
