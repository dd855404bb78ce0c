/**
 * Time-stepped simulation of one scaling policy over a demand curve: the autoscaler decides at its
 * own interval, instances become ready after the start-up lag, and the service model turns demand and
 * ready capacity into utilization, p95 latency and failed requests.
 */
import { ScalingInputError, requirePositive } from '../errors.ts';
import type { SaleEvent } from '../forecast/events.ts';
import type { DemandCurve } from '../forecast/forecast.ts';
import type { TargetTrackingOptions } from './aws-target-tracking.ts';
import { createTargetTrackingScaler } from './aws-target-tracking.ts';
import type { AzureScalerOptions } from './azure-scaler.ts';
import { createAzureScaler } from './azure-scaler.ts';
import type { GceScalerOptions } from './gce-scaler.ts';
import { DEFAULT_GCE_SCALER, createGceScaler } from './gce-scaler.ts';
import { normalizeBehavior } from './hpa-behavior.ts';
import type { SimPod } from './hpa-pods.ts';
import { createPendingPod, isPending, resizePods } from './hpa-pods.ts';
import type { HpaScalerOptions } from './k8s-hpa-scaler.ts';
import { DEFAULT_HPA_SCALER, createHpaScaler } from './k8s-hpa-scaler.ts';
import type { NodePoolInput, NodePoolRun, NodeTotals } from './node-pool.ts';
import { createNodePool } from './node-pool.ts';
import type { EventReadiness } from './readiness.ts';
import { getEventReadiness } from './readiness.ts';
import type { Scaler, ScheduleLookup } from './scaler.ts';
import type { ServiceModelOptions } from './service-model.ts';
import { evaluateServiceStep, getInstancesForLoad } from './service-model.ts';

export const POLICY_NAMES = [
  'hpa',
  'hpa-legacy',
  'hpa-prescaled',
  'aws-target-tracking',
  'aws-scheduled',
  'aws-predictive',
  'aws-scheduled-predictive',
  'gce-autoscaler',
  'gce-predictive-scheduled',
  'azure-rules',
  'azure-fixeddate',
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export const POLICY_DESCRIPTIONS: Record<PolicyName, string> = {
  hpa: 'Kubernetes HPA alone (CPU + memory targets and behavior: the deployment spec\'s in simulate and cost)',
  'hpa-legacy': 'Kubernetes HPA without spec.behavior (legacy normalisation)',
  'hpa-prescaled': 'HPA + KEDA cron pre-scaling from the forecast plan',
  'aws-target-tracking': 'EC2 Auto Scaling target tracking (CPU 70 %) alone',
  'aws-scheduled': 'Target tracking + scheduled actions from the forecast plan',
  'aws-predictive': 'Target tracking + predictive scaling (learns weekly pattern, not events)',
  'aws-scheduled-predictive': 'Target tracking + scheduled actions + predictive scaling',
  'gce-autoscaler': 'Compute Engine autoscaler, CPU target alone (10 min scale-in stabilization)',
  'gce-predictive-scheduled': 'Compute Engine autoscaler + predictive (OPTIMIZE_AVAILABILITY) + scaling schedules from the plan',
  'azure-rules': 'Azure autoscale, CPU rules in the default profile alone',
  'azure-fixeddate': 'Azure autoscale rules + a fixedDate profile per sale window from the plan',
};

/** Policies that run pods on Kubernetes nodes: the node pool (`SimulationInput.nodePool`) applies to them. */
export const KUBERNETES_POLICIES: readonly PolicyName[] = ['hpa', 'hpa-legacy', 'hpa-prescaled'];

/** Policies that start the run with the plan's pre-scaling already in force. */
const PRESCALED: readonly PolicyName[] = ['hpa-prescaled', 'aws-scheduled', 'aws-scheduled-predictive', 'gce-predictive-scheduled', 'azure-fixeddate'];

/** Whether a policy pre-scales from the plan's windows (KEDA cron, scheduled actions, schedules, fixed-date profiles), so that its capacity follows the forecast the plan is sized on. */
export function isPrescaledPolicy(policy: PolicyName): boolean {
  return PRESCALED.includes(policy);
}

export function parsePolicyName(value: string): PolicyName {
  if ((POLICY_NAMES as readonly string[]).includes(value)) return value as PolicyName;
  throw new ScalingInputError('UNKNOWN_POLICY', `unknown policy "${value}" (known: ${POLICY_NAMES.join(', ')})`, { value });
}

/** Inputs of one simulation run. */
export interface SimulationInput {
  policy: PolicyName;
  from: Date;
  to: Date;
  demand: DemandCurve;
  service: ServiceModelOptions;
  /** Price of one instance-hour. */
  pricePerInstanceHour: number;
  /** @defaultValue 5 */
  stepSeconds?: number;
  hpa?: Partial<HpaScalerOptions>;
  /** EC2 Auto Scaling group: target tracking; `scheduledActions` serve aws-scheduled*, `predictive` with `history` aws-*predictive. */
  aws?: Partial<TargetTrackingOptions>;
  /** Compute Engine autoscaler (its schedules, history and service rate serve gce-predictive-scheduled). */
  gce?: Partial<GceScalerOptions>;
  /** Azure autoscale: the setting with its fixed-date profiles (azure-rules drops them). */
  azure?: AzureScalerOptions;
  /** Pre-scaling windows (hpa-prescaled: KEDA cron; aws-scheduled: scheduled MinSize unless `aws.scheduledActions` is given). */
  prescale?: ScheduleLookup;
  /** Predictive minimum capacity (aws-predictive, unless `aws.predictive` is given). */
  predictive?: ScheduleLookup;
  /**
   * The Kubernetes policies' node pool and its Cluster Autoscaler: pods wait Pending for a node with room.
   * Other policies ignore it (each of their instances is its own VM). @defaultValue none: every pod is scheduled at once
   */
  nodePool?: NodePoolInput;
  /** Sale events whose readiness (`totals.readiness`) the run reports. @defaultValue [] */
  events?: readonly SaleEvent[];
  /** Called with the fraction done, at most every 1 %. */
  onProgress?: (fraction: number) => void;
}

/** One minute of the timeline. */
export interface TimelinePoint {
  t: string;
  demandRps: number;
  replicas: number;
  readyReplicas: number;
  readyCapacityRps: number;
  utilization: number;
  p95Ms: number;
  failedRequests: number;
  overSlo: boolean;
  /** With a node pool: nodes (provisioning ones included), Ready nodes and Pending pods at the minute's last step. */
  nodes?: number;
  readyNodes?: number;
  pendingPods?: number;
}

/** Totals of one run. */
export interface SimulationTotals {
  minutesOverSlo: number;
  failedRequests: number;
  totalRequests: number;
  servedRequests: number;
  instanceHours: number;
  cost: number;
  peakReplicas: number;
  maxP95Ms: number;
  /** Per sale event in the run: the worst margin between the instances serving and those each step's demand needs (`readiness.ts`). */
  readiness: EventReadiness[];
  /** With a node pool (Kubernetes policies only). */
  nodes?: NodeTotals;
}

export interface SimulationResult {
  policy: PolicyName;
  description: string;
  timeline: TimelinePoint[];
  totals: SimulationTotals;
}

function createScaler(input: SimulationInput): { scaler: Scaler; min: number; max: number } {
  const hpa = { ...DEFAULT_HPA_SCALER, ...input.hpa };
  switch (input.policy) {
    case 'hpa':
      return { scaler: createHpaScaler(hpa), min: hpa.minReplicas, max: hpa.maxReplicas };
    case 'hpa-legacy':
      return { scaler: createHpaScaler({ ...hpa, behavior: null }), min: hpa.minReplicas, max: hpa.maxReplicas };
    case 'hpa-prescaled':
      return { scaler: createHpaScaler({ ...hpa, behavior: hpa.behavior ?? normalizeBehavior(), cron: input.prescale }), min: hpa.minReplicas, max: hpa.maxReplicas };
    case 'gce-autoscaler':
    case 'gce-predictive-scheduled': {
      const gce = { ...DEFAULT_GCE_SCALER, ...input.gce };
      const full = input.policy === 'gce-predictive-scheduled';
      return { scaler: createGceScaler({ ...gce, predictive: full, schedules: full ? gce.schedules : undefined }), min: gce.minNumReplicas, max: gce.maxNumReplicas };
    }
    case 'azure-rules':
    case 'azure-fixeddate': {
      if (!input.azure) throw new ScalingInputError('INVALID_OPTION', `policy ${input.policy} needs an Azure autoscale setting`);
      const setting = input.policy === 'azure-fixeddate' ? input.azure.setting : { ...input.azure.setting, profiles: input.azure.setting.profiles.filter((p) => !p.fixedDate) };
      const bounds = setting.profiles.find((p) => !p.fixedDate && !p.recurrence)?.capacity ?? { minimum: '1', maximum: '20' };
      return { scaler: createAzureScaler({ ...input.azure, setting }), min: Number(bounds.minimum), max: Number(bounds.maximum) };
    }
    default: {
      // Scheduled actions when given (else the pre-scaling windows as a MinSize lookup); a predictive
      // policy learning from history when given (else the predictive lookup). Each policy keeps its own.
      const aws = { minSize: 2, maxSize: 20, ...input.aws };
      const scheduled = input.policy === 'aws-scheduled' || input.policy === 'aws-scheduled-predictive';
      const predictive = input.policy === 'aws-predictive' || input.policy === 'aws-scheduled-predictive';
      const lookups = [scheduled && !aws.scheduledActions ? input.prescale : undefined, predictive && !aws.predictive ? input.predictive : undefined].filter((l) => l !== undefined);
      const minCapacity = lookups.length === 0 ? undefined : (t: number) => Math.max(0, ...lookups.map((l) => l(t) ?? 0)) || undefined;
      const scaler = createTargetTrackingScaler({
        ...aws,
        scheduledActions: scheduled ? aws.scheduledActions : undefined,
        predictive: predictive ? aws.predictive : undefined,
        minCapacity,
      });
      return { scaler, min: aws.minSize, max: aws.maxSize };
    }
  }
}

/** The simulation's step when none is given (s). */
export const DEFAULT_STEP_SECONDS = 5;

/**
 * `demand` read once per step of the run [`fromMs`, `toMs`) at `stepSeconds`, for the policies simulated over the
 * same steps; an instant off those steps is read as it comes.
 */
export function readOncePerStep(demand: (tMs: number) => number, fromMs: number, toMs: number, stepSeconds: number): (tMs: number) => number {
  const stepMs = stepSeconds * 1000;
  const values = new Float64Array(Math.max(0, Math.ceil((toMs - fromMs) / stepMs))).fill(Number.NaN);
  return (t) => {
    const i = (t - fromMs) / stepMs;
    if (!Number.isInteger(i) || i < 0 || i >= values.length) return demand(t);
    if (Number.isNaN(values[i]!)) values[i] = demand(t);
    return values[i]!;
  };
}

/** Runs one policy. Pure: same input, same result. */
export function simulatePolicy(input: SimulationInput): SimulationResult {
  const dt = input.stepSeconds ?? DEFAULT_STEP_SECONDS;
  requirePositive(dt, 'stepSeconds');
  requirePositive(input.service.capacityPerInstanceRps, 'capacityPerInstanceRps');
  const fromMs = input.from.getTime();
  const duration = (input.to.getTime() - fromMs) / 1000;
  if (!(duration > 0)) throw new ScalingInputError('INVALID_DATE', `simulation end ${input.to.toISOString()} is not after its start ${input.from.toISOString()}`);
  const { scaler, min, max } = createScaler(input);
  if (scaler.intervalSeconds % dt !== 0) throw new ScalingInputError('INVALID_OPTION', `stepSeconds ${dt} must divide the autoscaler interval ${scaler.intervalSeconds}`);

  // Start in steady state for the first minute's demand (and any pre-scaling already in force).
  const first = input.demand(fromMs);
  const pre = PRESCALED.includes(input.policy) ? (input.prescale?.(fromMs) ?? 0) : 0;
  const initial = Math.min(max, Math.max(min, pre, getInstancesForLoad(first, 0.7, input.service)));
  let pods: SimPod[] = Array.from({ length: initial }, () => ({ startedAt: -3600, readyAt: -3600 + scaler.readyDelaySeconds }));
  const pool: NodePoolRun | undefined = input.nodePool && KUBERNETES_POLICIES.includes(input.policy) ? createNodePool(input.nodePool, initial, max) : undefined;
  if (pool) {
    if (pool.options.scanIntervalSeconds % dt !== 0) throw new ScalingInputError('INVALID_OPTION', `stepSeconds ${dt} must divide the Cluster Autoscaler's scan interval ${pool.options.scanIntervalSeconds}`);
    // Starting pods beyond the starting nodes' room wait Pending like any other.
    const room = pool.initialNodes * pool.options.podsPerNode;
    pods = pods.map((p, k) => (k < room ? p : createPendingPod()));
  }

  const steps = Math.ceil(duration / dt);
  const util = new Float64Array(steps);
  const readyHist = new Int32Array(steps);
  const indexAt = (t: number) => Math.min(steps - 1, Math.max(0, Math.floor(t / dt)));
  const ctxBase = {
    utilizationAt(t: number, window: number) {
      const hi = indexAt(t);
      const lo = indexAt(t - window + dt);
      let sum = 0;
      for (let i = lo; i <= hi; i++) sum += util[i];
      return sum / (hi - lo + 1);
    },
    anyReadyAt: (t: number) => (t < 0 ? initial > 0 : readyHist[indexAt(t)] > 0),
  };

  const timeline: TimelinePoint[] = [];
  const totals: SimulationTotals = { minutesOverSlo: 0, failedRequests: 0, totalRequests: 0, servedRequests: 0, instanceHours: 0, cost: 0, peakReplicas: 0, maxP95Ms: 0, readiness: [] };
  let minute: TimelinePoint | undefined;
  let minuteSteps = 0;
  let lastProgress = 0;

  for (let i = 0; i < steps; i++) {
    const now = i * dt;
    const nowMs = fromMs + now * 1000;
    if (now % scaler.intervalSeconds === 0) {
      const desired = scaler.decide({ ...ctxBase, now, nowMs, pods });
      if (desired !== pods.length) pods = resizePods(pods, desired, now, scaler.readyDelaySeconds, pool !== undefined);
    }
    if (pool) {
      // The scheduler binds at once where a Ready node has room; the Cluster Autoscaler acts on its scan.
      pods = pool.bind(pods, now, scaler.readyDelaySeconds);
      if (now % pool.options.scanIntervalSeconds === 0) pods = pool.scan(pods, now, scaler.readyDelaySeconds);
      pool.record(pods, dt);
    }
    const ready = pods.filter((p) => p.readyAt <= now).length;
    const step = evaluateServiceStep(input.demand(nowMs), ready, input.service);
    util[i] = step.utilization;
    readyHist[i] = ready;

    totals.totalRequests += step.demandRps * dt;
    totals.servedRequests += step.servedRps * dt;
    totals.failedRequests += step.failedRps * dt;
    totals.instanceHours += (pods.length * dt) / 3600;
    if (step.overSlo) totals.minutesOverSlo += dt / 60;
    totals.peakReplicas = Math.max(totals.peakReplicas, pods.length);
    totals.maxP95Ms = Math.max(totals.maxP95Ms, step.p95Ms);

    if (now % 60 === 0) {
      minute = { t: new Date(nowMs).toISOString(), demandRps: 0, replicas: 0, readyReplicas: 0, readyCapacityRps: 0, utilization: 0, p95Ms: 0, failedRequests: 0, overSlo: false };
      minuteSteps = 0;
      timeline.push(minute);
    }
    if (minute) {
      minuteSteps++;
      minute.demandRps += (step.demandRps - minute.demandRps) / minuteSteps;
      minute.utilization += (step.utilization - minute.utilization) / minuteSteps;
      minute.replicas = Math.max(minute.replicas, pods.length);
      minute.readyReplicas = ready;
      minute.readyCapacityRps = step.readyCapacityRps;
      minute.p95Ms = Math.max(minute.p95Ms, step.p95Ms);
      minute.failedRequests += step.failedRps * dt;
      minute.overSlo ||= step.overSlo;
      if (pool) {
        minute.nodes = pool.totalNodes();
        minute.readyNodes = pool.readyNodes(now);
        minute.pendingPods = pods.filter(isPending).length;
      }
    }
    if (input.onProgress && (i + 1) / steps - lastProgress >= 0.01) {
      lastProgress = (i + 1) / steps;
      input.onProgress(lastProgress);
    }
  }
  totals.cost = totals.instanceHours * input.pricePerInstanceHour;
  totals.readiness = getEventReadiness({ events: input.events ?? [], fromMs, stepSeconds: dt, ready: readyHist, demand: input.demand, service: input.service });
  if (pool) totals.nodes = { ...pool.totals };
  return { policy: input.policy, description: POLICY_DESCRIPTIONS[input.policy], timeline, totals };
}
