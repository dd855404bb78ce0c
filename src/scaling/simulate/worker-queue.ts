/**
 * Fluid model of the BullMQ backlog per time step: jobs arrive at a rate derived from web demand,
 * each ready worker drains `concurrency / jobSeconds` jobs/s, what is left carries over. Jobs without a
 * priority go to the `wait` list, prioritized ones to the `prioritized` zset; BullMQ hands out plain
 * waiting jobs before prioritized ones, so the wait list drains first.
 */
import type { WorkerPlanOptions } from '../capacity/plan.ts';
import { DEFAULT_WORKER_PLAN, getJobsPerOrder, getQueueThroughput } from '../capacity/plan.ts';
import { QUEUE_NAMES } from '../../platform/queue/queue-definitions.ts';

/** Parameters of the queue model (the capacity plan's worker settings plus the priority split). */
export interface WorkerQueueOptions extends Pick<WorkerPlanOptions, 'ordersPerRequest'> {
  /** Jobs enqueued per order (every queue's). */
  jobsPerOrder: number;
  /** Mean processing time of a job, seconds. */
  jobSeconds: number;
  /** Jobs one replica runs at once. */
  concurrency: number;
  /**
   * Share of jobs enqueued with a priority (the `update-stock` job of an order's five jobs).
   * @defaultValue 1/5
   */
  prioritizedShare: number;
}

/**
 * The worker plan's queues as the one queue this model holds: every queue's jobs, the sum of their
 * concurrencies, and a job time that makes one replica drain the jobs of an order as fast as the plan's
 * bottleneck queue lets it (so the replicas that keep this queue flat are the ones `plan` sizes).
 */
export function getSingleQueueModel(w: Pick<WorkerPlanOptions, 'ordersPerRequest' | 'queues'>): Omit<WorkerQueueOptions, 'prioritizedShare'> {
  const jobsPerOrder = getJobsPerOrder(w);
  const busy = QUEUE_NAMES.filter((q) => w.queues[q].jobsPerOrder > 0);
  const concurrency = busy.reduce((sum, q) => sum + w.queues[q].concurrency, 0);
  // Orders/s one replica completes: the slowest queue's throughput over its jobs per order.
  const ordersPerSecond = Math.min(...busy.map((q) => getQueueThroughput(w.queues[q]) / w.queues[q].jobsPerOrder));
  return { ordersPerRequest: w.ordersPerRequest, jobsPerOrder, concurrency, jobSeconds: concurrency / (ordersPerSecond * jobsPerOrder) };
}

export const DEFAULT_WORKER_QUEUE: WorkerQueueOptions = { ...getSingleQueueModel(DEFAULT_WORKER_PLAN), prioritizedShare: 1 / 5 };

/** Jobs/s one ready worker completes. */
export function getWorkerThroughput(o: Pick<WorkerQueueOptions, 'concurrency' | 'jobSeconds'>): number {
  return o.concurrency / o.jobSeconds;
}

/** Jobs/s enqueued for a web demand in requests/s. */
export function getJobArrivalRate(demandRps: number, o: Pick<WorkerQueueOptions, 'ordersPerRequest' | 'jobsPerOrder'>): number {
  return demandRps * o.ordersPerRequest * o.jobsPerOrder;
}

/** The backlog between steps. */
export interface WorkerQueueState {
  wait: number;
  prioritized: number;
  /** When the backlog last became non-empty (seconds), null while empty. */
  backlogSince: number | null;
}

export function createWorkerQueueState(): WorkerQueueState {
  return { wait: 0, prioritized: 0, backlogSince: null };
}

/** One step as the queue sees it. */
export interface WorkerQueueStep {
  arrivals: number;
  processed: number;
  /** Jobs waiting at the end of the step (wait + prioritized): the queue depth. */
  backlog: number;
  wait: number;
  prioritized: number;
  /** Jobs/s the ready workers can complete. */
  throughput: number;
  /**
   * How long a job enqueued now waits before a worker takes it: backlog / throughput. With no ready
   * worker, the time since the backlog formed (the oldest job has waited at least that long).
   */
  oldestWaitSeconds: number;
}

/** Backlog below this is treated as empty (floating-point residue of the fluid model). */
const EMPTY = 1e-9;

/** Advances the queue by `dt` seconds from `now`. Pure. */
export function stepWorkerQueue(
  state: WorkerQueueState,
  input: { now: number; dt: number; demandRps: number; readyReplicas: number },
  o: WorkerQueueOptions,
): { state: WorkerQueueState; step: WorkerQueueStep } {
  const arrivals = getJobArrivalRate(input.demandRps, o) * input.dt;
  const throughput = input.readyReplicas * getWorkerThroughput(o);
  let capacity = throughput * input.dt;
  let wait = state.wait + arrivals * (1 - o.prioritizedShare);
  let prioritized = state.prioritized + arrivals * o.prioritizedShare;
  const fromWait = Math.min(wait, capacity);
  wait -= fromWait;
  capacity -= fromWait;
  const fromPrioritized = Math.min(prioritized, capacity);
  prioritized -= fromPrioritized;
  if (wait < EMPTY) wait = 0;
  if (prioritized < EMPTY) prioritized = 0;
  const backlog = wait + prioritized;
  const backlogSince = backlog === 0 ? null : (state.backlogSince ?? input.now);
  const oldestWaitSeconds = backlog === 0 ? 0 : throughput > 0 ? backlog / throughput : input.now + input.dt - (backlogSince ?? input.now);
  return {
    state: { wait, prioritized, backlogSince },
    step: { arrivals, processed: fromWait + fromPrioritized, backlog, wait, prioritized, throughput, oldestWaitSeconds },
  };
}
