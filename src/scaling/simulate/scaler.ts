/** What every simulated autoscaler sees and returns. Times are seconds since the simulation start. */
import type { SimPod } from './hpa-pods.ts';

/** Read-only view of the simulated world at a decision time. */
export interface ScalerContext {
  now: number;
  /** Absolute time of `now` (ms since epoch), for schedules. */
  nowMs: number;
  /** All instances, including those still starting. */
  pods: readonly SimPod[];
  /** Mean CPU utilization (0–1) of the instances that were ready, over [t − window, t]. */
  utilizationAt: (t: number, windowSeconds: number) => number;
  /** Whether any instance was ready at t. */
  anyReadyAt: (t: number) => boolean;
}

/** A time-stepped autoscaler. */
export interface Scaler {
  /** How often `decide` runs (HPA sync 15 s, CloudWatch period 60 s). */
  readonly intervalSeconds: number;
  /** Seconds from the decision to a new instance serving traffic. */
  readonly readyDelaySeconds: number;
  /** Desired instance count. */
  decide(ctx: ScalerContext): number;
}

/**
 * The longest a pre-scaling window waits for the simulated autoscaler to apply it. `simulatePolicy` runs `decide`
 * every `intervalSeconds` from the simulation's start, and the start and every window fall on whole minutes, so a
 * window waits for the next multiple of the interval: never when the interval divides 60 s (AWS 60 s, Compute
 * Engine 30 s, Azure 60 s), else at most the interval less gcd(interval, 60 s). No engine documents a delay of its
 * own for a schedule (an EC2 scheduled action, a GCE scaling schedule, an Azure fixed-date profile), so none is added.
 */
export function getScheduleWaitSeconds(intervalSeconds: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return intervalSeconds - gcd(intervalSeconds, 60);
}

/** Desired replicas of a pre-scaling schedule at an instant (undefined outside every window). */
export type ScheduleLookup = (tMs: number) => number | undefined;
