/**
 * `groupPods` from replica_calculator.go: which pods' CPU samples the HPA may use.
 * Times are seconds on the simulation clock.
 */
import type { PodMetricState } from './hpa.ts';

/** A pod as the simulator tracks it. */
export interface SimPod {
  /** Creation time (the pod's StartTime, simplified). */
  startedAt: number;
  /** When the readiness probe first passes. */
  readyAt: number;
}

/**
 * A pod no node has room for yet (phase Pending, unschedulable): it has not started, so both times are +∞
 * until the scheduler binds it (`node-pool.ts`). Without a simulated node pool no pod is ever pending.
 */
export function createPendingPod(): SimPod {
  return { startedAt: Number.POSITIVE_INFINITY, readyAt: Number.POSITIVE_INFINITY };
}

export function isPending(pod: SimPod): boolean {
  return pod.startedAt === Number.POSITIVE_INFINITY;
}

/** Controller and metrics-pipeline timings that decide whether a sample is usable. */
export interface PodMetricTimings {
  /** `--horizontal-pod-autoscaler-cpu-initialization-period`. @defaultValue 300 */
  cpuInitializationPeriodSeconds: number;
  /** `--horizontal-pod-autoscaler-initial-readiness-delay`. @defaultValue 30 */
  initialReadinessDelaySeconds: number;
  /** Age of the newest metrics-server sample when the HPA reads it. @defaultValue 30 */
  metricsLagSeconds: number;
  /** Length of the usage window a sample covers. @defaultValue 15 */
  metricWindowSeconds: number;
}

export const DEFAULT_POD_METRIC_TIMINGS: PodMetricTimings = {
  cpuInitializationPeriodSeconds: 300,
  initialReadinessDelaySeconds: 30,
  metricsLagSeconds: 30,
  metricWindowSeconds: 15,
};

/**
 * As upstream `groupPods`: a pending pod is unready; a running pod without a sample yet is missing,
 * Ready or not (the sample is looked for first). CPU only: a not-ready pod with a sample is
 * unready, and inside the CPU initialisation period a sample is ignored (unready) unless one full
 * window was collected after the pod became ready. Other resources (memory): readiness is not
 * looked at. (Failed and deleted pods do not occur in the simulator.)
 */
export function classifyPod(pod: SimPod, now: number, resource: 'cpu' | 'memory', t: PodMetricTimings): PodMetricState {
  // Upstream `groupPods` puts a Pending pod among the unready ones, whatever the resource.
  if (isPending(pod)) return 'unready';
  const metricTimestamp = now - t.metricsLagSeconds;
  // Upstream `groupPods` looks for the sample before readiness: a running pod without one is missing,
  // Ready or not (on a scale-down it then counts as max(100, target) % of its request).
  if (metricTimestamp - t.metricWindowSeconds < pod.startedAt) return 'missing';
  // Readiness only matters for CPU: a running pod that is not Ready yet still counts for memory as
  // soon as it has a sample.
  if (resource !== 'cpu') return 'ready';
  if (now < pod.readyAt) return 'unready';
  if (pod.startedAt + t.cpuInitializationPeriodSeconds > now) {
    return metricTimestamp < pod.readyAt + t.metricWindowSeconds ? 'unready' : 'ready';
  }
  // Past the initialisation period the pod is ready here, so the "never been ready" rule cannot apply.
  return 'ready';
}

/**
 * Applies a new replica count: new pods start now and are ready after `readyDelaySeconds` (or, with
 * `pending`, wait for a node: `node-pool.ts` binds them); on scale-down the ReplicaSet deletes not-ready
 * pods first (pending ones before started ones), then the newest.
 */
export function resizePods(pods: readonly SimPod[], desired: number, now: number, readyDelaySeconds: number, pending = false): SimPod[] {
  if (desired > pods.length) {
    const add = Array.from({ length: desired - pods.length }, () => (pending ? createPendingPod() : { startedAt: now, readyAt: now + readyDelaySeconds }));
    return [...pods, ...add];
  }
  if (desired < pods.length) {
    // Equal start times compare as 0 (two pending pods: ∞ − ∞ would be NaN).
    const order = [...pods].sort((a, b) => Number(a.readyAt > now) - Number(b.readyAt > now) || (a.startedAt === b.startedAt ? 0 : a.startedAt - b.startedAt));
    return order.slice(0, desired);
  }
  return [...pods];
}
