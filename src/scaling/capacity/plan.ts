/**
 * Capacity plan: web replicas per hour at a target utilization, worker replicas from the job
 * arrival rate (Little's law: busy slots = rate × processing time), within min/max bounds.
 */
import { requireNonNegative, requirePositive } from '../errors.ts';
import type { ForecastHour } from '../forecast/forecast.ts';
import { getInstancesForLoad } from '../simulate/service-model.ts';

/** Web tier settings. */
export interface WebPlanOptions {
  /** Requests/s per instance at the p95 SLO (bench results or flag). */
  capacityPerInstanceRps: number;
  /** @defaultValue 500 */
  sloP95Ms: number;
  /** Target CPU utilization, 0–1 (the seed's 70 %). @defaultValue 0.7 */
  targetUtilization: number;
  /** @defaultValue 2 */
  minReplicas: number;
  /** @defaultValue 20 */
  maxReplicas: number;
}

/** Worker tier settings (BullMQ jobs per order: confirmation email, stock sync, analytics, …). */
export interface WorkerPlanOptions {
  /** Orders per web request. @defaultValue 0.002 */
  ordersPerRequest: number;
  /** Jobs enqueued per order. @defaultValue 3 */
  jobsPerOrder: number;
  /** Mean processing time of a job, seconds. @defaultValue 0.5 */
  jobSeconds: number;
  /** BullMQ Worker concurrency per replica. @defaultValue 10 */
  concurrency: number;
  /** Busy share of slots to plan for. @defaultValue 0.7 */
  targetUtilization: number;
  /** @defaultValue 1 (BullMQ workers should not scale to zero: delayed jobs need a worker) */
  minReplicas: number;
  /** @defaultValue 10 */
  maxReplicas: number;
}

export const DEFAULT_WEB_PLAN: Omit<WebPlanOptions, 'capacityPerInstanceRps'> = { sloP95Ms: 500, targetUtilization: 0.7, minReplicas: 2, maxReplicas: 20 };
export const DEFAULT_WORKER_PLAN: WorkerPlanOptions = { ordersPerRequest: 0.002, jobsPerOrder: 3, jobSeconds: 0.5, concurrency: 10, targetUtilization: 0.7, minReplicas: 1, maxReplicas: 10 };

/** One planned hour. */
export interface PlanHour {
  hour: string;
  /** The hour's peak rate: what replicas are sized on. */
  peakRps: number;
  /** Requests the forecast expects in the hour (its mean rate × 3600): what is counted and billed. */
  requestsInHour: number;
  /** Replicas the load needs, before the max bound. */
  webReplicasNeeded: number;
  webReplicas: number;
  /** Jobs/s at the hour's peak: what workers are sized on. */
  jobsPerSecond: number;
  workerReplicas: number;
}

export interface CapacityPlan {
  web: WebPlanOptions;
  workers: WorkerPlanOptions;
  hours: PlanHour[];
  peakWebReplicas: number;
  peakWorkerReplicas: number;
  /** Hours in which the load needs more than maxReplicas. */
  hoursAboveMax: string[];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

export function getWorkerReplicas(jobsPerSecond: number, w: WorkerPlanOptions): number {
  return clamp(Math.ceil((jobsPerSecond * w.jobSeconds) / (w.concurrency * w.targetUtilization) - 1e-9), w.minReplicas, w.maxReplicas);
}

export function planCapacity(forecast: readonly ForecastHour[], web: WebPlanOptions, workers: WorkerPlanOptions = DEFAULT_WORKER_PLAN): CapacityPlan {
  requirePositive(web.capacityPerInstanceRps, 'capacityPerInstanceRps');
  requirePositive(web.targetUtilization, 'targetUtilization');
  requireNonNegative(web.minReplicas, 'minReplicas');
  requirePositive(workers.jobSeconds, 'jobSeconds');
  requirePositive(workers.concurrency, 'concurrency');
  const hours = forecast.map((f) => {
    const needed = getInstancesForLoad(f.peakRequestsPerSecond, web.targetUtilization, web);
    const jobsPerSecond = f.peakRequestsPerSecond * workers.ordersPerRequest * workers.jobsPerOrder;
    return {
      hour: f.hour,
      peakRps: f.peakRequestsPerSecond,
      requestsInHour: f.requestsInHour,
      webReplicasNeeded: needed,
      webReplicas: clamp(needed, web.minReplicas, web.maxReplicas),
      jobsPerSecond,
      workerReplicas: getWorkerReplicas(jobsPerSecond, workers),
    };
  });
  return {
    web,
    workers,
    hours,
    peakWebReplicas: Math.max(0, ...hours.map((h) => h.webReplicas)),
    peakWorkerReplicas: Math.max(0, ...hours.map((h) => h.workerReplicas)),
    hoursAboveMax: hours.filter((h) => h.webReplicasNeeded > web.maxReplicas).map((h) => h.hour),
  };
}
