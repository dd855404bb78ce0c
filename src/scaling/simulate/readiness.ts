/**
 * Did capacity arrive before the spike? For each sale event, the first minute from which a policy's serving (ready)
 * instances stayed at or above what the demand needed at every step through the event's peak, against the start of
 * the event's ramp (its start). "Needed" is the simulator's own SLO check (`getInstancesNeeded`); the peak is the
 * event's highest demand within the run (with the seed's hourly base that can be hours after the ramp). A policy
 * never short from the run's start is ready at the run's start (a lower bound, printed "≥"); one short at the peak
 * is ready at the first whole minute after it with enough instances, or never (null).
 */
import type { SaleEvent } from '../forecast/events.ts';
import type { ServiceModelOptions } from './service-model.ts';
import { getInstancesNeeded } from './service-model.ts';

/** One event's readiness for one policy. */
export interface EventReadiness {
  event: string;
  /** The event's start, where its ramp begins (ISO). */
  rampStartsAt: string;
  /** Its highest demand within the run, first reached (ISO). */
  peakAt: string;
  /** Ready instances the peak's demand needs, by the SLO check. */
  neededInstances: number;
  /** Never short from the run's start: `readyAt` is a lower bound. */
  readySinceRunStart: boolean;
  /** The ready minute (ISO), null if the run never had them; the run's start when they were there from it. */
  readyAt: string | null;
  /** Minutes the ready minute came before the ramp's start: negative = late, null = never ready. */
  readyMinutesBeforeRamp: number | null;
}

export interface ReadinessInput {
  events: readonly SaleEvent[];
  fromMs: number;
  stepSeconds: number;
  /** Ready instances at each step of the run. */
  ready: ArrayLike<number>;
  demand: (tMs: number) => number;
  service: ServiceModelOptions;
}

/** Readiness for every event that overlaps the run, in the events' order. */
export function getEventReadiness(input: ReadinessInput): EventReadiness[] {
  const { fromMs, stepSeconds: dt, ready } = input;
  const steps = ready.length;
  const toMs = fromMs + steps * dt * 1000;
  const indexAt = (t: number) => Math.min(steps - 1, Math.max(0, Math.floor((t - fromMs) / 1000 / dt)));
  const perMinute = Math.max(1, Math.round(60 / dt));
  return input.events
    .filter((e) => steps > 0 && e.startsAt.getTime() < toMs && e.endsAt.getTime() > fromMs)
    .map((e) => {
      const rampMs = e.startsAt.getTime();
      const timeOf = (i: number) => fromMs + i * dt * 1000;
      const first = indexAt(rampMs);
      let peak = first;
      for (let i = first; i <= indexAt(e.endsAt.getTime() - 1); i++) if (input.demand(timeOf(i)) > input.demand(timeOf(peak))) peak = i;
      const neededAt = (i: number) => getInstancesNeeded(input.demand(timeOf(i)), input.service);
      let lastShort = -1;
      for (let i = peak; i >= 0; i--) {
        if (ready[i] < neededAt(i)) {
          lastShort = i;
          break;
        }
      }
      let readyIndex: number | undefined;
      // Minute boundaries after the last short step: up to the peak every later step holds; past it, a whole minute must.
      for (let m = (Math.floor(lastShort / perMinute) + 1) * perMinute; m < steps && readyIndex === undefined; m += perMinute) {
        let holds = true;
        if (m > peak) for (let i = m; i < Math.min(steps, m + perMinute); i++) holds &&= ready[i] >= neededAt(i);
        if (holds) readyIndex = m;
      }
      const readyMs = readyIndex === undefined ? undefined : timeOf(readyIndex);
      return {
        event: e.name,
        rampStartsAt: new Date(rampMs).toISOString(),
        peakAt: new Date(timeOf(peak)).toISOString(),
        neededInstances: neededAt(peak),
        readySinceRunStart: readyIndex === 0,
        readyAt: readyMs === undefined ? null : new Date(readyMs).toISOString(),
        readyMinutesBeforeRamp: readyMs === undefined ? null : (rampMs - readyMs) / 60_000,
      };
    });
}

/** "12 min before", "≥ 180 min before" (from the run's start), "7 min late", "at the ramp", "never"; each event named when the run has several. */
export function formatReadiness(list: readonly EventReadiness[]): string {
  if (list.length === 0) return '-';
  const one = (r: EventReadiness) => {
    const m = r.readyMinutesBeforeRamp;
    const text = m === null ? 'never' : m === 0 ? 'at the ramp' : `${r.readySinceRunStart ? '≥ ' : ''}${Math.abs(Math.round(m * 10) / 10)} min ${m > 0 ? 'before' : 'late'}`;
    return list.length > 1 ? `${r.event}: ${text}` : text;
  };
  return list.map(one).join('; ');
}
