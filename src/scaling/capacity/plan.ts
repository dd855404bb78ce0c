/**
 * Capacity plan: web replicas per hour at a target utilization, worker replicas from the job
 * arrival rate (Little's law: busy slots = rate × processing time), within min/max bounds.
 *
 * Workers are sized per queue, as the worker runs them: every replica runs one BullMQ Worker per queue at
 * that queue's concurrency (`DEFAULT_CONCURRENCY`, WORKER_CONCURRENCY), so a replica drains
 * `concurrency / jobSeconds` jobs/s of each queue and the replicas needed are those of the queue that
 * needs most. One figure for all queues (10 at once, as this plan once assumed) sized the email queue,
 * which runs 5 at once (at most DB_POOL_MAX − 2) with the slowest jobs, on the notifications queue's headroom.
 */
import { DEFAULT_CONCURRENCY, QUEUE_NAMES, type QueueName } from '../../platform/queue/queue-definitions.ts';
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

/** One queue's work as the worker does it. */
export interface QueueWorkload {
  /** Jobs this queue gets per order. */
  jobsPerOrder: number;
  /** Mean processing time of one of its jobs, seconds. */
  jobSeconds: number;
  /** Jobs of this queue one replica runs at once: the worker's concurrency for it (after the pool cap for email). */
  concurrency: number;
}

/** Worker tier settings (BullMQ jobs per order: confirmation email, stock sync, analytics, …). */
export interface WorkerPlanOptions {
  /** Orders per web request. @defaultValue 0.002 */
  ordersPerRequest: number;
  /** Each queue's jobs per order, job time and concurrency. @defaultValue getQueueWorkloads() */
  queues: Record<QueueName, QueueWorkload>;
  /** Busy share of slots to plan for. @defaultValue 0.7 */
  targetUtilization: number;
  /** @defaultValue 1 (BullMQ workers should not scale to zero: delayed jobs need a worker) */
  minReplicas: number;
  /** @defaultValue 10 */
  maxReplicas: number;
}

export const DEFAULT_WEB_PLAN: Omit<WebPlanOptions, 'capacityPerInstanceRps'> = { sloP95Ms: 500, targetUtilization: 0.7, minReplicas: 2, maxReplicas: 20 };
/**
 * Jobs per order on each queue (the seed strategy's follow-ups, as `orderFollowUps` writes them) and the
 * assumed mean time of one. order: `expire-order` at checkout and `order-paid` at payment; inventory:
 * `update-stock` per order line (one line assumed); email: the confirmation, whose send holds a database
 * connection for the mail server's whole SMTP conversation (2 s assumed for a remote relay); notifications:
 * the analytics event. Assumptions, not measurements: `plan` prints them.
 */
export const DEFAULT_QUEUE_JOBS: Record<QueueName, Omit<QueueWorkload, 'concurrency'>> = {
  email: { jobsPerOrder: 1, jobSeconds: 2 },
  order: { jobsPerOrder: 2, jobSeconds: 0.5 },
  inventory: { jobsPerOrder: 1, jobSeconds: 0.5 },
  notifications: { jobsPerOrder: 1, jobSeconds: 0.5 },
};

/**
 * Connections of a worker's pool that email sends may hold (the worker's `DB_POOL_MAX` − 2, at least 1): the
 * relay and the other queues keep two, so the email queue runs at most this many at once whatever its
 * concurrency says.
 */
export function getEmailSendCap(dbPoolMax: number): number {
  return Math.max(1, dbPoolMax - 2);
}

/**
 * Each queue's workload at the worker's concurrency: `concurrency` as WORKER_CONCURRENCY gives it (the app's
 * defaults for the queues it leaves out), email capped by the pool (`getEmailSendCap`).
 */
export function getQueueWorkloads(concurrency: Partial<Record<QueueName, number>> = {}, dbPoolMax?: number, jobs: Record<QueueName, Omit<QueueWorkload, 'concurrency'>> = DEFAULT_QUEUE_JOBS): Record<QueueName, QueueWorkload> {
  const c = { ...DEFAULT_CONCURRENCY, ...concurrency };
  const effective = (q: QueueName) => (q === 'email' && dbPoolMax !== undefined ? Math.min(c[q], getEmailSendCap(dbPoolMax)) : c[q]);
  return Object.fromEntries(QUEUE_NAMES.map((q) => [q, { ...jobs[q], concurrency: effective(q) }])) as Record<QueueName, QueueWorkload>;
}

/** The worker's pool as the deployment spec runs it (`worker.dbPoolMax`, DB_POOL_MAX 5): `getSpecPlanOptions` passes the spec's own. */
const DEFAULT_WORKER_DB_POOL_MAX = 5;

export const DEFAULT_WORKER_PLAN: WorkerPlanOptions = { ordersPerRequest: 0.002, queues: getQueueWorkloads({}, DEFAULT_WORKER_DB_POOL_MAX), targetUtilization: 0.7, minReplicas: 1, maxReplicas: 10 };

/** Jobs per order over every queue. */
export function getJobsPerOrder(w: Pick<WorkerPlanOptions, 'queues'>): number {
  return QUEUE_NAMES.reduce((sum, q) => sum + w.queues[q].jobsPerOrder, 0);
}

/** Jobs/s of one queue that one ready replica completes. */
export function getQueueThroughput(q: Pick<QueueWorkload, 'concurrency' | 'jobSeconds'>): number {
  return q.concurrency / q.jobSeconds;
}

/**
 * A KEDA redis trigger's `listLength` that aims a queue's backlog at `backlogSeconds` of one replica's work: the jobs a
 * replica completes in that time at `jobsPerSecond` (at least 1). The manifests' per-queue targets
 * (`getWorkerListLengths`) and the simulator's single queue (`compareWorkerPolicies`) both take it from here.
 */
export function getBacklogListLength(jobsPerSecond: number, backlogSeconds: number): number {
  return Math.max(1, Math.round(jobsPerSecond * backlogSeconds));
}

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
  /** Jobs/s at the hour's peak over every queue. */
  jobsPerSecond: number;
  /** Replicas the load needs, before the bounds: those of the queue that needs most (`bottleneckQueue`). */
  workerReplicasNeeded: number;
  bottleneckQueue: QueueName;
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
  /** Hours in which a queue needs more workers than workers.maxReplicas: its backlog grows. */
  workerHoursAboveMax: string[];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Replicas one queue needs for its jobs at `ordersPerSecond`: busy slots ÷ (concurrency × utilization). Unbounded. */
export function getQueueReplicas(ordersPerSecond: number, q: QueueWorkload, targetUtilization: number): number {
  return Math.ceil((ordersPerSecond * q.jobsPerOrder * q.jobSeconds) / (q.concurrency * targetUtilization) - 1e-9);
}

/** Replicas for the queue that needs most at `ordersPerSecond`, before and after the min/max bounds. */
export function getWorkerReplicas(ordersPerSecond: number, w: WorkerPlanOptions): { needed: number; replicas: number; bottleneck: QueueName } {
  let bottleneck: QueueName = QUEUE_NAMES[0];
  let needed = 0;
  for (const q of QUEUE_NAMES) {
    const n = getQueueReplicas(ordersPerSecond, w.queues[q], w.targetUtilization);
    if (n > needed) [needed, bottleneck] = [n, q];
  }
  return { needed, replicas: clamp(needed, w.minReplicas, w.maxReplicas), bottleneck };
}

export function planCapacity(forecast: readonly ForecastHour[], web: WebPlanOptions, workers: WorkerPlanOptions = DEFAULT_WORKER_PLAN): CapacityPlan {
  requirePositive(web.capacityPerInstanceRps, 'capacityPerInstanceRps');
  requirePositive(web.targetUtilization, 'targetUtilization');
  requireNonNegative(web.minReplicas, 'minReplicas');
  requirePositive(workers.targetUtilization, 'targetUtilization');
  for (const q of QUEUE_NAMES) {
    requirePositive(workers.queues[q].jobSeconds, `${q} jobSeconds`);
    requirePositive(workers.queues[q].concurrency, `${q} concurrency`);
    requireNonNegative(workers.queues[q].jobsPerOrder, `${q} jobsPerOrder`);
  }
  const hours = forecast.map((f) => {
    const needed = getInstancesForLoad(f.peakRequestsPerSecond, web.targetUtilization, web);
    const ordersPerSecond = f.peakRequestsPerSecond * workers.ordersPerRequest;
    const w = getWorkerReplicas(ordersPerSecond, workers);
    return {
      hour: f.hour,
      peakRps: f.peakRequestsPerSecond,
      requestsInHour: f.requestsInHour,
      webReplicasNeeded: needed,
      webReplicas: clamp(needed, web.minReplicas, web.maxReplicas),
      jobsPerSecond: ordersPerSecond * getJobsPerOrder(workers),
      workerReplicasNeeded: w.needed,
      bottleneckQueue: w.bottleneck,
      workerReplicas: w.replicas,
    };
  });
  return {
    web,
    workers,
    hours,
    peakWebReplicas: Math.max(0, ...hours.map((h) => h.webReplicas)),
    peakWorkerReplicas: Math.max(0, ...hours.map((h) => h.workerReplicas)),
    hoursAboveMax: hours.filter((h) => h.webReplicasNeeded > web.maxReplicas).map((h) => h.hour),
    workerHoursAboveMax: hours.filter((h) => h.workerReplicasNeeded > workers.maxReplicas).map((h) => h.hour),
  };
}

/** A role whose planned replicas exceed the deployment spec's `replicas.max`: the deployed autoscaler stops short of the plan. */
export interface SpecMaxExceedance {
  role: 'web' | 'worker';
  /** `replicas.max` of the role in the deployment spec. */
  specMax: number;
  /** The most replicas the plan needs in any hour, before any bound. */
  peakNeeded: number;
  /** Hours in which the plan needs more than `specMax`. */
  hours: number;
  firstHour: string;
}

/**
 * The roles whose needed replicas (before the plan's own bounds, which `--max`/`--worker-max` may have moved) exceed
 * `replicas.max` of the deployment spec, web first: every rendered platform file caps the role there, so the sale
 * would get fewer replicas than the plan says it needs.
 */
export function getSpecMaxExceedances(plan: Pick<CapacityPlan, 'hours'>, specMax: { web: number; worker: number }): SpecMaxExceedance[] {
  const out: SpecMaxExceedance[] = [];
  for (const role of ['web', 'worker'] as const) {
    const needed = (h: PlanHour) => (role === 'web' ? h.webReplicasNeeded : h.workerReplicasNeeded);
    const over = plan.hours.filter((h) => needed(h) > specMax[role]);
    if (over.length > 0) out.push({ role, specMax: specMax[role], peakNeeded: Math.max(...over.map(needed)), hours: over.length, firstHour: over[0].hour });
  }
  return out;
}

/** The warning line `plan` and `simulate` print for one `SpecMaxExceedance`. */
export function describeSpecMaxExceedance(e: SpecMaxExceedance): string {
  const consequence = e.role === 'web' ? 'the deployed autoscalers stop there and requests queue or are shed' : 'the deployed ScaledObject stops there and the queues\u2019 backlog grows';
  return `WARNING: up to ${e.peakNeeded} ${e.role} replicas needed, above the deployment spec's ${e.role}.replicas.max ${e.specMax}, in ${e.hours} hour(s) from ${e.firstHour.slice(0, 16)}Z: ${consequence}; raise ${e.role}.replicas.max in the deployment spec and re-render (salescale manifests), or plan for less load`;
}
