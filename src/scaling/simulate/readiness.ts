/**
 * Capacity lead for each sale event: the worst margin, over the event's steps, between the instances serving and the
 * instances that step's demand needs (`getInstancesNeeded`, the simulator's own SLO check). A step t needing k that has
 * them is ahead by t − (the start of the run of steps, ending at t, with ≥ k serving): ≥ that when the run reaches the
 * run's start (a lower bound). One short of k is late by the time from t until ≥ k first serve, or never (null).
 *
 * Why the minimum over every step, not one margin at the peak: the highest demand often comes hours after the first
 * jump, and a reactive policy that overshoots after falling behind that jump had the peak's capacity long before the
 * peak. The worst step is where the SLO was at risk; `tightestAt` names it.
 */
import type { SaleEvent } from '../forecast/events.ts';
import type { ServiceModelOptions } from './service-model.ts';
import { getInstancesNeeded } from './service-model.ts';

/** One event's capacity lead for one policy. */
export interface EventReadiness {
  event: string;
  /** The event's start, where its ramp begins (ISO). */
  rampStartsAt: string;
  /** The step that set the worst margin (ISO): the earliest of equals. */
  tightestAt: string;
  /** Ready instances the demand at `tightestAt` needs, by the SLO check. */
  neededInstances: number;
  /** From when `neededInstances` were serving, kept through `tightestAt` or first reached after it (ISO); null if never. */
  readyAt: string | null;
  /** `readyAt` is the run's start: the margin is a lower bound ("≥"). */
  readySinceRunStart: boolean;
  /** `tightestAt` − `readyAt` in minutes: positive = before, negative = late, null = never ready. */
  readyMarginMinutes: number | null;
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

/** Capacity lead for every event that overlaps the run, in the events' order. */
export function getEventReadiness(input: ReadinessInput): EventReadiness[] {
  const { fromMs, stepSeconds: dt, ready } = input;
  const steps = ready.length;
  const toMs = fromMs + steps * dt * 1000;
  const indexAt = (t: number) => Math.min(steps - 1, Math.max(0, Math.floor((t - fromMs) / 1000 / dt)));
  const timeOf = (i: number) => fromMs + i * dt * 1000;
  const iso = (i: number) => new Date(timeOf(i)).toISOString();
  // Per instance count k, over the whole run: where the run of steps with ≥ k serving that ends at i starts (−1 when
  // short at i), and the first step from i on with ≥ k (`steps` if none). Built once per k an event needs: O(run).
  const runs = new Map<number, { since: Int32Array; next: Int32Array }>();
  // Each step's need, worked out once however many events overlap it (−1: not yet): events often overlap the whole run.
  const stepNeeds = new Int32Array(steps).fill(-1);
  const needsOver = (first: number, last: number) => {
    for (let i = first; i <= last; i++) if (stepNeeds[i]! < 0) stepNeeds[i] = getInstancesNeeded(input.demand(timeOf(i)), input.service);
    return stepNeeds.subarray(first, last + 1);
  };
  const runsFor = (k: number) => {
    let r = runs.get(k);
    if (!r) {
      const since = new Int32Array(steps);
      const next = new Int32Array(steps);
      for (let i = 0; i < steps; i++) since[i] = ready[i] < k ? -1 : i > 0 && since[i - 1] >= 0 ? since[i - 1] : i;
      for (let i = steps - 1; i >= 0; i--) next[i] = ready[i] >= k ? i : i + 1 < steps ? next[i + 1] : steps;
      r = { since, next };
      runs.set(k, r);
    }
    return r;
  };
  return input.events
    .filter((e) => steps > 0 && e.startsAt.getTime() < toMs && e.endsAt.getTime() > fromMs)
    .map((e) => {
      const first = indexAt(e.startsAt.getTime());
      const last = indexAt(e.endsAt.getTime() - 1);
      const needs = needsOver(first, last);
      // Only the steps needing more than the event's first step: before the first rise every step is covered by the
      // base the run started with, so its margin measures how long the run had been going (0 for a run that starts
      // with the event), which would hide a pre-scaled policy's real lead before the first rise. An event that never
      // rises within the run is measured on every step.
      const rises = needs.some((k) => k > needs[0]!);
      let worst: { i: number; k: number; readyIndex: number | undefined; margin: number } | undefined;
      needs.forEach((k, j) => {
        if (rises && k <= needs[0]!) return;
        const i = first + j;
        const { since, next } = runsFor(k);
        const readyIndex = since[i] >= 0 ? since[i] : next[i] < steps ? next[i] : undefined;
        // Never ready ranks below any margin.
        const margin = readyIndex === undefined ? -Infinity : i - readyIndex;
        if (worst === undefined || margin < worst.margin) worst = { i, k, readyIndex, margin };
      });
      const w = worst ?? { i: first, k: needs[0], readyIndex: undefined, margin: -Infinity };
      return {
        event: e.name,
        rampStartsAt: e.startsAt.toISOString(),
        tightestAt: iso(w.i),
        neededInstances: w.k,
        readyAt: w.readyIndex === undefined ? null : iso(w.readyIndex),
        readySinceRunStart: w.readyIndex === 0,
        readyMarginMinutes: w.readyIndex === undefined ? null : (w.margin * dt) / 60,
      };
    });
}

/** "10 min before (10:00, 9 inst.)", "≥ 180 min before …" (from the run's start), "3.8 min late …", "just in time …", "never …" (UTC); each event named when the run has several. */
export function formatReadiness(list: readonly EventReadiness[]): string {
  if (list.length === 0) return '-';
  const one = (r: EventReadiness) => {
    // The magnitude is rounded, not the signed value: Math.round(−37.5) is −37, which would print 3.75 min late as 3.7.
    const m = r.readyMarginMinutes;
    const lead = m === null ? 'never' : m === 0 ? 'just in time' : `${r.readySinceRunStart ? '≥ ' : ''}${Math.round(Math.abs(m) * 10) / 10} min ${m > 0 ? 'before' : 'late'}`;
    const hhmmss = r.tightestAt.slice(11, 19);
    const text = `${lead} (${hhmmss.endsWith(':00') ? hhmmss.slice(0, 5) : hhmmss}, ${r.neededInstances} inst.)`;
    return list.length > 1 ? `${r.event}: ${text}` : text;
  };
  return list.map(one).join('; ');
}
