/**
 * Time-stepped simulation of the worker tier under a KEDA ScaledObject: the HPA KEDA created syncs
 * every 15 s, the KEDA operator polls every `pollingInterval`, new workers are ready after the pod
 * start-up lag, and the queue model turns web demand and ready workers into backlog and wait.
 * `compareWorkerPolicies` runs the reactive ScaledObject (redis triggers on `wait` and `prioritized`)
 * against the same one with cron pre-scaling windows from the capacity plan.
 */
import type { WorkerPlanOptions, WebPlanOptions } from '../capacity/plan.ts';
import { type CapacityPlan, DEFAULT_WEB_PLAN, DEFAULT_WORKER_PLAN, getBacklogListLength, planCapacity } from '../capacity/plan.ts';
import { ScalingInputError, requireNonNegative, requirePositive } from '../errors.ts';
import type { DemandCurve, ForecastOptions } from '../forecast/forecast.ts';
import { createDemandCurve, forecastHourly } from '../forecast/forecast.ts';
import { applyHpaTolerance, getPrescaleWindows } from '../schedule/schedule.ts';
import type { HpaBehavior } from './hpa-behavior.ts';
import type { SimPod } from './hpa-pods.ts';
import { resizePods } from './hpa-pods.ts';
import type { KedaScaledObject } from './keda.ts';
import { createKedaState, createScaledObject, pollScaledObject, syncKedaHpa } from './keda.ts';
import type { KedaTrigger } from './keda-triggers.ts';
import { DEFAULT_REDIS_TRIGGER, getBullMqKey, readTriggers } from './keda-triggers.ts';
import type { PrescaleWindow } from './prescale.ts';
import type { WorkerQueueOptions } from './worker-queue.ts';
import { DEFAULT_WORKER_QUEUE, createWorkerQueueState, getSingleQueueModel, getJobArrivalRate, getWorkerThroughput, stepWorkerQueue } from './worker-queue.ts';

/** The seed strategy's queue-depth alerts: WARNING above 1000, CRITICAL above 5000. */
export const QUEUE_DEPTH_THRESHOLDS = { warning: 1000, critical: 5000 } as const;

export const WORKER_POLICY_NAMES = ['keda-workers', 'keda-workers-prescaled'] as const;
export type WorkerPolicyName = (typeof WORKER_POLICY_NAMES)[number];

export const WORKER_POLICY_DESCRIPTIONS: Record<WorkerPolicyName, string> = {
  'keda-workers': 'KEDA ScaledObject: redis triggers on the BullMQ wait list and prioritized zset',
  'keda-workers-prescaled': 'The same + KEDA cron triggers from the plan (worker pre-scaling windows)',
};

export function isWorkerPolicyName(value: string): value is WorkerPolicyName {
  return (WORKER_POLICY_NAMES as readonly string[]).includes(value);
}

/** Inputs of one worker simulation. */
export interface WorkerSimulationInput {
  from: Date;
  to: Date;
  /** Web requests/s; jobs arrive at demand × ordersPerRequest × jobsPerOrder. */
  demand: DemandCurve;
  queue: WorkerQueueOptions;
  scaledObject: KedaScaledObject;
  /** `bull:<queue>:…` keys the queue model answers for. @defaultValue { queueName: 'jobs', prefix: 'bull' } */
  keys?: { queueName: string; prefix: string };
  /** Worker pod creation to Ready. @defaultValue 30 */
  podReadySeconds?: number;
  /** Replicas at the start (default: what the first instant needs, within the ScaledObject's bounds). */
  initialReplicas?: number;
  pricePerInstanceHour: number;
  /** @defaultValue 5 */
  stepSeconds?: number;
}

/** One minute of the worker timeline. */
export interface WorkerTimelinePoint {
  t: string;
  demandRps: number;
  arrivals: number;
  processed: number;
  /** Highest queue depth (wait + prioritized) in the minute. */
  queueDepth: number;
  /** Highest oldest-job wait estimate in the minute, seconds. */
  waitSeconds: number;
  replicas: number;
  readyReplicas: number;
}

export interface WorkerSimulationTotals {
  /** Minutes with queue depth above 1000 / above 5000. */
  minutesOverWarning: number;
  minutesOverCritical: number;
  maxQueueDepth: number;
  maxWaitSeconds: number;
  arrivals: number;
  processed: number;
  finalQueueDepth: number;
  instanceHours: number;
  cost: number;
  peakReplicas: number;
}

export interface WorkerSimulationResult {
  timeline: WorkerTimelinePoint[];
  totals: WorkerSimulationTotals;
}

function getInitialReplicas(input: WorkerSimulationInput, fromMs: number, readLength: (key: string) => number): number {
  const so = input.scaledObject;
  if (input.initialReplicas !== undefined) return input.initialReplicas;
  const cron = readTriggers(so.triggers, readLength, fromMs).filter((r, i) => so.triggers[i].type === 'cron' && r.active);
  // Steady state: the fewest workers that keep the queue empty (queue triggers propose no more than that).
  const keepUp = Math.ceil(getJobArrivalRate(input.demand(fromMs), input.queue) / getWorkerThroughput(input.queue) - 1e-9);
  const wanted = Math.max(keepUp, ...cron.map((r) => r.value));
  if (wanted === 0 && so.minReplicaCount === 0) return 0;
  return Math.min(so.maxReplicaCount, Math.max(so.minReplicaCount, 1, wanted));
}

/** Runs the worker tier over [from, to). Pure: same input, same result. */
export function simulateWorkers(input: WorkerSimulationInput): WorkerSimulationResult {
  const dt = input.stepSeconds ?? 5;
  requirePositive(dt, 'stepSeconds');
  requirePositive(input.queue.jobSeconds, 'jobSeconds');
  requirePositive(input.queue.concurrency, 'concurrency');
  requireNonNegative(input.queue.ordersPerRequest, 'ordersPerRequest');
  requireNonNegative(input.queue.jobsPerOrder, 'jobsPerOrder');
  if (!(input.queue.prioritizedShare >= 0 && input.queue.prioritizedShare <= 1)) {
    throw new ScalingInputError('INVALID_OPTION', `prioritizedShare must be in [0, 1] (got ${input.queue.prioritizedShare})`);
  }
  const so = input.scaledObject;
  for (const interval of [so.pollingIntervalSeconds, so.hpaSyncPeriodSeconds]) {
    if (interval % dt !== 0) throw new ScalingInputError('INVALID_OPTION', `stepSeconds ${dt} must divide the controller interval ${interval}`);
  }
  const fromMs = input.from.getTime();
  const duration = (input.to.getTime() - fromMs) / 1000;
  if (!(duration > 0)) throw new ScalingInputError('INVALID_DATE', `simulation end ${input.to.toISOString()} is not after its start ${input.from.toISOString()}`);
  const readyDelay = input.podReadySeconds ?? 30;
  const keys = input.keys ?? { queueName: 'jobs', prefix: 'bull' };
  const waitKey = getBullMqKey(keys.queueName, 'wait', keys.prefix);
  const prioritizedKey = getBullMqKey(keys.queueName, 'prioritized', keys.prefix);

  let queue = createWorkerQueueState();
  // LLEN / ZCARD return whole jobs.
  const readLength = (key: string) => (key === waitKey ? Math.round(queue.wait) : key === prioritizedKey ? Math.round(queue.prioritized) : 0);
  let keda = createKedaState(0);
  const initial = getInitialReplicas(input, fromMs, readLength);
  let pods: SimPod[] = Array.from({ length: initial }, () => ({ startedAt: -3600, readyAt: -3600 + readyDelay }));

  const timeline: WorkerTimelinePoint[] = [];
  const totals: WorkerSimulationTotals = {
    minutesOverWarning: 0,
    minutesOverCritical: 0,
    maxQueueDepth: 0,
    maxWaitSeconds: 0,
    arrivals: 0,
    processed: 0,
    finalQueueDepth: 0,
    instanceHours: 0,
    cost: 0,
    peakReplicas: 0,
  };
  let minute: WorkerTimelinePoint | undefined;
  let minuteSteps = 0;
  const steps = Math.ceil(duration / dt);
  for (let i = 0; i < steps; i++) {
    const now = i * dt;
    const nowMs = fromMs + now * 1000;
    // The HPA first: after KEDA activates 0 → 1 it acts on its next sync, not in the same instant.
    if (now % so.hpaSyncPeriodSeconds === 0) {
      const d = syncKedaHpa(so, keda, { now, currentReplicas: pods.length, readings: readTriggers(so.triggers, readLength, nowMs) });
      keda = d.state;
      if (d.replicas !== pods.length) pods = resizePods(pods, d.replicas, now, readyDelay);
    }
    if (now % so.pollingIntervalSeconds === 0) {
      const d = pollScaledObject(so, keda, { now, currentReplicas: pods.length, readings: readTriggers(so.triggers, readLength, nowMs) });
      keda = d.state;
      if (d.replicas !== pods.length) pods = resizePods(pods, d.replicas, now, readyDelay);
    }
    const ready = pods.filter((p) => p.readyAt <= now).length;
    const demandRps = input.demand(nowMs);
    const next = stepWorkerQueue(queue, { now, dt, demandRps, readyReplicas: ready }, input.queue);
    queue = next.state;
    const s = next.step;

    totals.arrivals += s.arrivals;
    totals.processed += s.processed;
    totals.instanceHours += (pods.length * dt) / 3600;
    if (s.backlog > QUEUE_DEPTH_THRESHOLDS.warning) totals.minutesOverWarning += dt / 60;
    if (s.backlog > QUEUE_DEPTH_THRESHOLDS.critical) totals.minutesOverCritical += dt / 60;
    totals.maxQueueDepth = Math.max(totals.maxQueueDepth, s.backlog);
    totals.maxWaitSeconds = Math.max(totals.maxWaitSeconds, s.oldestWaitSeconds);
    totals.peakReplicas = Math.max(totals.peakReplicas, pods.length);
    totals.finalQueueDepth = s.backlog;

    if (now % 60 === 0) {
      minute = { t: new Date(nowMs).toISOString(), demandRps: 0, arrivals: 0, processed: 0, queueDepth: 0, waitSeconds: 0, replicas: 0, readyReplicas: 0 };
      minuteSteps = 0;
      timeline.push(minute);
    }
    if (minute) {
      minuteSteps++;
      minute.demandRps += (demandRps - minute.demandRps) / minuteSteps;
      minute.arrivals += s.arrivals;
      minute.processed += s.processed;
      minute.queueDepth = Math.max(minute.queueDepth, s.backlog);
      minute.waitSeconds = Math.max(minute.waitSeconds, s.oldestWaitSeconds);
      minute.replicas = Math.max(minute.replicas, pods.length);
      minute.readyReplicas = ready;
    }
  }
  totals.cost = totals.instanceHours * input.pricePerInstanceHour;
  return { timeline, totals };
}

/** KEDA settings of the worker ScaledObject (the rest are KEDA's defaults). */
export interface WorkerKedaOptions {
  /**
   * Seconds of one replica's work the redis triggers aim the backlog at, as the rendered ScaledObject does
   * (`worker.backlogSecondsPerReplica` of the deployment spec): `listLength` is then the jobs one replica of the
   * simulated queue completes in that time (`getBacklogListLength`). The seed's "queue processing time < 5000 ms".
   * @defaultValue 5
   */
  backlogSecondsPerReplica: number;
  /** Waiting jobs per replica (listLength of both redis triggers), over `backlogSecondsPerReplica`'s. */
  listLength?: number;
  /** @defaultValue 0 */
  activationListLength: number;
  /** @defaultValue 30 */
  pollingIntervalSeconds: number;
  /** @defaultValue 300 */
  cooldownPeriodSeconds: number;
  /** Worker pod creation to Ready. @defaultValue 30 */
  podReadySeconds: number;
  /**
   * `advanced.horizontalPodAutoscalerConfig.behavior`, which KEDA hands to the HPA it creates: how fast workers go in
   * and out between 1 and N. The rendered ScaledObject's is `getSpecWorkerKedaOptions(spec).behavior`.
   * @defaultValue the API server's defaults (scale-down Percent 100 / 15 s after a 300 s window)
   */
  behavior?: HpaBehavior;
}

export const DEFAULT_WORKER_KEDA: WorkerKedaOptions = {
  backlogSecondsPerReplica: 5,
  activationListLength: DEFAULT_REDIS_TRIGGER.activationListLength,
  pollingIntervalSeconds: 30,
  cooldownPeriodSeconds: 300,
  podReadySeconds: 30,
};

/** The two redis triggers a BullMQ queue needs: its wait list and its prioritized zset (HPA takes the max). */
export function getBullMqRedisTriggers(queueName: string, o: { listLength: number; activationListLength: number }, prefix = 'bull'): KedaTrigger[] {
  return (['wait', 'prioritized'] as const).map((type) => ({
    type: 'redis',
    name: `${queueName}-${type}`,
    listName: getBullMqKey(queueName, type, prefix),
    listLength: o.listLength,
    activationListLength: o.activationListLength,
  }));
}

/** One cron trigger per pre-scaling window. */
export function getCronTriggers(windows: readonly PrescaleWindow[], namePrefix = 'worker-prescale'): KedaTrigger[] {
  return windows.map((w, i) => ({ type: 'cron', name: `${namePrefix}-${i + 1}`, startMs: w.startMs, endMs: w.endMs, desiredReplicas: w.replicas }));
}

/** Inputs of a worker policy comparison over a forecast. */
export interface CompareWorkersInput {
  forecast: Partial<ForecastOptions>;
  from: Date;
  to: Date;
  policies: readonly WorkerPolicyName[];
  pricePerInstanceHour: number;
  /**
   * Worker plan (replica bounds, per-queue jobs, job time and concurrency): sizes the cron windows and, as
   * one queue (`getSingleQueueModel`), the simulated backlog. @defaultValue DEFAULT_WORKER_PLAN
   */
  workers?: Partial<WorkerPlanOptions>;
  /** Overrides of the single-queue model (jobs per order, job time, concurrency). @defaultValue getSingleQueueModel(workers) */
  queueModel?: Partial<Omit<WorkerQueueOptions, 'prioritizedShare'>>;
  /** @defaultValue 1/5 */
  prioritizedShare?: number;
  keda?: Partial<WorkerKedaOptions>;
  /** Web plan, only because the capacity plan computes both tiers. @defaultValue DEFAULT_WEB_PLAN at 150 req/s */
  web?: WebPlanOptions;
  /** Cron windows start this long before each planned hour. @defaultValue 10 */
  leadMinutes?: number;
  /** Actual demand = forecast × factor. @defaultValue 1 */
  demandFactor?: number;
  /** @defaultValue 5 */
  stepSeconds?: number;
}

export interface WorkerPolicyResult extends WorkerSimulationResult {
  policy: WorkerPolicyName;
  description: string;
}

export interface CompareWorkersResult {
  /** The capacity plan the windows come from (both tiers, sized on `forecast`). */
  plan: CapacityPlan;
  /** The worker pre-scaling windows of the plan (the cron triggers of keda-workers-prescaled). */
  windows: PrescaleWindow[];
  /** The queue the backlog was simulated with. */
  queue: WorkerQueueOptions;
  /** The redis triggers' listLength: `keda.listLength`, else `keda.backlogSecondsPerReplica` of the queue's throughput. */
  listLength: number;
  results: WorkerPolicyResult[];
}

const HOUR_MS = 3_600_000;

export function compareWorkerPolicies(input: CompareWorkersInput): CompareWorkersResult {
  const workers: WorkerPlanOptions = { ...DEFAULT_WORKER_PLAN, ...input.workers };
  const keda: WorkerKedaOptions = { ...DEFAULT_WORKER_KEDA, ...input.keda };
  const web = input.web ?? { ...DEFAULT_WEB_PLAN, capacityPerInstanceRps: 150 };
  const planFrom = new Date(Math.floor(input.from.getTime() / HOUR_MS) * HOUR_MS);
  const planTo = new Date(input.to.getTime() + HOUR_MS);
  const plan = planCapacity(forecastHourly(input.forecast, planFrom, planTo), web, workers);
  const windows = getPrescaleWindows(plan, { tier: 'workers', leadMinutes: input.leadMinutes ?? 10 });
  // The cron triggers go through the HPA's tolerance: the steps it would ignore are raised, as the manifests render them.
  const kedaWindows = applyHpaTolerance(windows, workers.minReplicas, workers.maxReplicas).windows;
  const forecastDemand = createDemandCurve(input.forecast);
  const factor = input.demandFactor ?? 1;
  const demand = (t: number) => forecastDemand(t) * factor;
  const queue: WorkerQueueOptions = { ...getSingleQueueModel(workers), ...input.queueModel, prioritizedShare: input.prioritizedShare ?? DEFAULT_WORKER_QUEUE.prioritizedShare };
  const listLength = keda.listLength ?? getBacklogListLength(getWorkerThroughput(queue), keda.backlogSecondsPerReplica);
  const results = input.policies.map((policy) => {
    const triggers = [...getBullMqRedisTriggers('jobs', { listLength, activationListLength: keda.activationListLength }), ...(policy === 'keda-workers-prescaled' ? getCronTriggers(kedaWindows) : [])];
    const scaledObject = createScaledObject({
      minReplicaCount: workers.minReplicas,
      maxReplicaCount: workers.maxReplicas,
      pollingIntervalSeconds: keda.pollingIntervalSeconds,
      cooldownPeriodSeconds: keda.cooldownPeriodSeconds,
      ...(keda.behavior ? { behavior: keda.behavior } : {}),
      triggers,
    });
    const r = simulateWorkers({
      from: input.from,
      to: input.to,
      demand,
      queue,
      scaledObject,
      podReadySeconds: keda.podReadySeconds,
      pricePerInstanceHour: input.pricePerInstanceHour,
      stepSeconds: input.stepSeconds,
    });
    return { policy, description: WORKER_POLICY_DESCRIPTIONS[policy], ...r };
  });
  return { plan, windows, queue, listLength, results };
}
