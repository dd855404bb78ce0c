/**
 * Whether the plan pre-scales the sale on the clock the rendered manifests use. `plan` takes the shop's time zone
 * (`--tz`, else `SHOP_TIME_ZONE`); `manifests` renders the deployment spec's `prescale.timeZone` whatever the
 * environment says, so that the committed files do not depend on who renders them. When the two zones put the
 * sale at different instants, the files pre-scale it at other hours than the plan says (a New York Black Friday
 * planned on the spec's UTC clock: 5 h early, the evening peak on 10 replicas or none).
 */
import type { CalendarEventId } from '../forecast/calendar.ts';
import { getCalendarEvent } from '../forecast/calendar.ts';
import type { CheckFinding } from './checks.ts';

export interface TimeZoneCheckOptions {
  event: CalendarEventId;
  year: number;
  /** The zone the plan ran in. */
  timeZone: string;
  /** The deployment spec's `prescale.timeZone`. */
  manifestsTimeZone: string;
}

export function checkPrescaleTimeZone(o: TimeZoneCheckOptions): CheckFinding {
  const planned = getCalendarEvent(o.event, o.year, o.timeZone);
  const rendered = getCalendarEvent(o.event, o.year, o.manifestsTimeZone);
  const hours = (planned.startsAt.getTime() - rendered.startsAt.getTime()) / 3_600_000;
  const sale = `${planned.name} ${o.year}`;
  if (hours === 0) return { id: 'prescale-time-zone', level: 'ok', message: `time zone: ${sale} starts ${planned.startsAt.toISOString().slice(0, 16)}Z on this plan's clock (${o.timeZone}) and on the rendered manifests' (${o.manifestsTimeZone}, the deployment spec's prescale.timeZone)` };
  const shift = `${Math.abs(hours)} h ${hours > 0 ? 'early' : 'late'}`;
  return {
    id: 'prescale-time-zone',
    level: 'warning',
    message: `time zone: this plan puts ${sale} in ${o.timeZone} (from ${planned.startsAt.toISOString().slice(0, 16)}Z); the rendered manifests (salescale manifests) pre-scale it in ${o.manifestsTimeZone}, the deployment spec's prescale.timeZone (from ${rendered.startsAt.toISOString().slice(0, 16)}Z): their windows come ${shift}`,
    fix: `set prescale.timeZone to "${o.timeZone}" in src/scaling/manifests/deployment-spec.ts and re-render (npx salescale manifests --target all)`,
  };
}
