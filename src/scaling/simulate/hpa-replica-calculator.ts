/**
 * A port of the Kubernetes HPA replica calculator (kubernetes/kubernetes v1.35,
 * `pkg/controller/podautoscaler/replica_calculator.go` and `metrics/utilization.go`), on the objects
 * `kubectl` returns. Every function is pure; "now" is an argument, never the wall clock.
 *
 * Units follow the controller: metric values and requests are milli-units (`Quantity.MilliValue()`),
 * times are seconds (epoch or simulation clock, as long as pods and metrics use the same one).
 * Errors the controller returns become {@link HpaMetricError} with the upstream message, so that
 * the reconcile step can set the same condition reason.
 */

/** `Tolerances`: the ratio band inside which the controller keeps the current count. */
export interface Tolerances {
  scaleDown: number;
  scaleUp: number;
}

/** `--horizontal-pod-autoscaler-tolerance` default. */
export const DEFAULT_TOLERANCE = 0.1;

export const DEFAULT_TOLERANCES: Tolerances = { scaleDown: DEFAULT_TOLERANCE, scaleUp: DEFAULT_TOLERANCE };

/** `Tolerances.isWithin`: `1 − down ≤ ratio ≤ 1 + up`. */
export function isWithinTolerance(t: Tolerances, usageRatio: number): boolean {
  return 1.0 - t.scaleDown <= usageRatio && usageRatio <= 1.0 + t.scaleUp;
}

/** A container of a pod, with its requests in milli-units by resource name (`cpu`, `memory`, …). */
export interface HpaContainer {
  name: string;
  requests: Record<string, number | undefined>;
}

/** The parts of a `v1.Pod` the HPA reads. */
export interface HpaPod {
  name: string;
  /** `status.phase`: Pending | Running | Succeeded | Failed | Unknown. */
  phase: string;
  /** `metadata.deletionTimestamp` is set. */
  deleted: boolean;
  /** `status.startTime` in seconds, or null when unset. */
  startTime: number | null;
  /** The `Ready` condition, or null when the pod has none. */
  ready: { status: 'True' | 'False' | 'Unknown'; lastTransitionTime: number } | null;
  containers: HpaContainer[];
  /** Restartable init containers (sidecars, `restartPolicy: Always`) count towards requests. */
  sidecars?: HpaContainer[];
}

/** One sample of `PodMetricsInfo`. */
export interface PodMetric {
  value: number;
  /** Seconds; the window end. */
  timestamp: number;
  /** Seconds. */
  window: number;
}

export type PodMetricsInfo = Map<string, PodMetric>;

/** A refusal of the calculator, with the message upstream returns. */
export class HpaMetricError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HpaMetricError';
  }
}

/** Why a pod was left out of (or counted specially in) a calculation. */
export type PodGroup = 'ready' | 'unready' | 'missing' | 'ignored';

export interface PodGrouping {
  readyPodCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
  /** Per pod: its group and the rule of `groupPods` that put it there. */
  reasons: Map<string, { group: PodGroup; reason: string }>;
}

/** Controller timings that `groupPods` uses (flags of kube-controller-manager). */
export interface PodTimings {
  /** `--horizontal-pod-autoscaler-cpu-initialization-period`. @defaultValue 300 */
  cpuInitializationPeriod: number;
  /** `--horizontal-pod-autoscaler-initial-readiness-delay`. @defaultValue 30 */
  delayOfInitialReadinessStatus: number;
}

export const DEFAULT_POD_TIMINGS: PodTimings = { cpuInitializationPeriod: 300, delayOfInitialReadinessStatus: 30 };

/**
 * `groupPods`: deleted and failed pods are ignored; pending pods are unready; pods without a sample
 * are missing; for CPU only, a pod is unready while it has no Ready condition or start time, or,
 * inside the initialization period, while it is not ready or its sample started before one full
 * window after the last readiness transition, or, after that period, while it is not ready and has
 * never been ready (its condition last changed within the readiness delay after start).
 */
export function groupPods(pods: readonly HpaPod[], metrics: PodMetricsInfo, resource: string, timings: PodTimings, now: number): PodGrouping {
  const g: PodGrouping = { readyPodCount: 0, unready: new Set(), missing: new Set(), ignored: new Set(), reasons: new Map() };
  const put = (pod: HpaPod, group: PodGroup, reason: string) => {
    g.reasons.set(pod.name, { group, reason });
    if (group === 'unready') g.unready.add(pod.name);
    else if (group === 'missing') g.missing.add(pod.name);
    else if (group === 'ignored') g.ignored.add(pod.name);
    else g.readyPodCount++;
  };
  for (const pod of pods) {
    if (pod.deleted || pod.phase === 'Failed') {
      put(pod, 'ignored', pod.deleted ? 'being deleted (deletionTimestamp set)' : 'phase Failed');
      continue;
    }
    if (pod.phase === 'Pending') {
      put(pod, 'unready', 'phase Pending');
      continue;
    }
    const metric = metrics.get(pod.name);
    if (!metric) {
      put(pod, 'missing', 'no metric sample for the pod');
      continue;
    }
    if (resource === 'cpu') {
      const cond = pod.ready;
      if (cond === null || pod.startTime === null) {
        put(pod, 'unready', cond === null ? 'no Ready condition' : 'no start time');
        continue;
      }
      if (pod.startTime + timings.cpuInitializationPeriod > now) {
        if (cond.status === 'False') {
          put(pod, 'unready', 'not Ready, inside the CPU initialization period');
          continue;
        }
        if (metric.timestamp < cond.lastTransitionTime + metric.window) {
          put(pod, 'unready', 'inside the CPU initialization period and the sample does not cover a full window since it became Ready');
          continue;
        }
      } else if (cond.status === 'False' && pod.startTime + timings.delayOfInitialReadinessStatus > cond.lastTransitionTime) {
        put(pod, 'unready', 'not Ready and never been Ready since start');
        continue;
      }
    }
    put(pod, 'ready', 'counted');
  }
  return g;
}

function containerRequest(c: HpaContainer, resource: string, podName: string): number {
  const r = c.requests[resource];
  if (r === undefined) throw new HpaMetricError(`missing request for ${resource} in container ${c.name} of Pod ${podName}`);
  return r;
}

/** `calculateRequests` / `calculatePodRequestsFromContainers` (containers + restartable init containers). */
export function calculateRequests(pods: readonly HpaPod[], container: string, resource: string): Map<string, number> {
  const requests = new Map<string, number>();
  for (const pod of pods) {
    let request = 0;
    let found = false;
    for (const c of [...pod.containers, ...(pod.sidecars ?? [])]) {
      if (container === '' || container === c.name) request += containerRequest(c, resource, pod.name);
      if (container === c.name) {
        found = true;
        break;
      }
    }
    if (container !== '' && !found) throw new HpaMetricError(`container ${container} not found in Pod ${pod.name}`);
    requests.set(pod.name, request);
  }
  return requests;
}

/** `GetResourceUtilizationRatio`: integer utilization over pods that have a request. */
export function getResourceUtilizationRatio(metrics: PodMetricsInfo, requests: Map<string, number>, targetUtilization: number) {
  let metricsTotal = 0;
  let requestsTotal = 0;
  let numEntries = 0;
  for (const [podName, metric] of metrics) {
    const request = requests.get(podName);
    if (request === undefined) continue;
    metricsTotal += metric.value;
    requestsTotal += request;
    numEntries++;
  }
  if (requestsTotal === 0) throw new HpaMetricError('no metrics returned matched known pods');
  const utilization = Math.trunc((metricsTotal * 100) / requestsTotal);
  return { ratio: utilization / targetUtilization, utilization, rawAverageValue: Math.trunc(metricsTotal / numEntries) };
}

/** `GetMetricUsageRatio`: integer average over the samples. */
export function getMetricUsageRatio(metrics: PodMetricsInfo, targetUsage: number) {
  let total = 0;
  for (const m of metrics.values()) total += m.value;
  const usage = Math.trunc(total / metrics.size);
  return { ratio: usage / targetUsage, usage };
}

/** Everything a per-pod calculation saw, for `hpa explain`. */
export interface PodCalculationTrace {
  grouping: PodGrouping;
  usageRatio: number;
  /** Ratio after unready pods (scale-up) and missing pods were given conservative values, if recomputed. */
  newUsageRatio?: number;
  /** How the result was reached. */
  outcome: string;
}

export interface ResourceReplicasResult {
  replicas: number;
  utilization: number;
  rawUtilization: number;
  trace: PodCalculationTrace;
}

function removeMetricsForPods(metrics: PodMetricsInfo, pods: Set<string>): void {
  for (const p of pods) metrics.delete(p);
}

/**
 * `GetResourceReplicas` (Resource / ContainerResource, Utilization target). `metrics` holds the
 * samples of the metrics API (per pod, or of one container when `container` is set).
 */
export function getResourceReplicas(args: {
  currentReplicas: number;
  targetUtilization: number;
  resource: string;
  container?: string;
  tolerances?: Tolerances;
  pods: readonly HpaPod[];
  metrics: PodMetricsInfo;
  timings?: PodTimings;
  now: number;
}): ResourceReplicasResult {
  const tolerances = args.tolerances ?? DEFAULT_TOLERANCES;
  const { currentReplicas, targetUtilization } = args;
  if (args.pods.length === 0) throw new HpaMetricError('no pods returned by selector while calculating replica count');
  const metrics: PodMetricsInfo = new Map(args.metrics);
  const grouping = groupPods(args.pods, metrics, args.resource, args.timings ?? DEFAULT_POD_TIMINGS, args.now);
  removeMetricsForPods(metrics, grouping.ignored);
  removeMetricsForPods(metrics, grouping.unready);
  if (metrics.size === 0) throw new HpaMetricError('did not receive metrics for targeted pods (pods might be unready)');
  const requests = calculateRequests(args.pods, args.container ?? '', args.resource);
  const { ratio: usageRatio, utilization, rawAverageValue: rawUtilization } = getResourceUtilizationRatio(metrics, requests, targetUtilization);
  const done = (replicas: number, outcome: string, newUsageRatio?: number): ResourceReplicasResult => ({
    replicas,
    utilization,
    rawUtilization,
    trace: { grouping, usageRatio, newUsageRatio, outcome },
  });

  const scaleUpWithUnready = grouping.unready.size > 0 && usageRatio > 1.0;
  if (!scaleUpWithUnready && grouping.missing.size === 0) {
    if (isWithinTolerance(tolerances, usageRatio)) return done(currentReplicas, 'ratio within tolerance: keep the current count');
    return done(Math.ceil(usageRatio * grouping.readyPodCount), 'ceil(ratio × ready pods)');
  }
  if (grouping.missing.size > 0) {
    if (usageRatio < 1.0) {
      const fallbackUtilization = Math.max(100, targetUtilization);
      for (const p of grouping.missing) metrics.set(p, { value: Math.trunc(((requests.get(p) ?? 0) * fallbackUtilization) / 100), timestamp: 0, window: 0 });
    } else if (usageRatio > 1.0) {
      for (const p of grouping.missing) metrics.set(p, { value: 0, timestamp: 0, window: 0 });
    }
  }
  if (scaleUpWithUnready) for (const p of grouping.unready) metrics.set(p, { value: 0, timestamp: 0, window: 0 });
  const newUsageRatio = getResourceUtilizationRatio(metrics, requests, targetUtilization).ratio;
  if (isWithinTolerance(tolerances, newUsageRatio) || (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0)) {
    return done(currentReplicas, 'with missing/unready pods at conservative values the ratio is within tolerance or flips direction: keep the current count', newUsageRatio);
  }
  const newReplicas = Math.ceil(newUsageRatio * metrics.size);
  if ((newUsageRatio < 1.0 && newReplicas > currentReplicas) || (newUsageRatio > 1.0 && newReplicas < currentReplicas)) {
    return done(currentReplicas, 'the recomputed count would move against the ratio: keep the current count', newUsageRatio);
  }
  return done(newReplicas, 'ceil(recomputed ratio × pods with samples)', newUsageRatio);
}

export interface PlainReplicasResult {
  replicas: number;
  usage: number;
  trace: PodCalculationTrace;
}

/**
 * `calcPlainMetricReplicas`: Pods metrics (AverageValue) and Resource AverageValue targets. Missing
 * pods count as the target on a scale-down and 0 on a scale-up; unready pods 0 on a scale-up.
 */
export function calcPlainMetricReplicas(args: {
  currentReplicas: number;
  targetUsage: number;
  /** `''` for Pods metrics: the CPU readiness rules then do not apply. */
  resource: string;
  tolerances?: Tolerances;
  pods: readonly HpaPod[];
  metrics: PodMetricsInfo;
  timings?: PodTimings;
  now: number;
}): PlainReplicasResult {
  const tolerances = args.tolerances ?? DEFAULT_TOLERANCES;
  const { currentReplicas, targetUsage } = args;
  if (args.pods.length === 0) throw new HpaMetricError('no pods returned by selector while calculating replica count');
  const metrics: PodMetricsInfo = new Map(args.metrics);
  const grouping = groupPods(args.pods, metrics, args.resource, args.timings ?? DEFAULT_POD_TIMINGS, args.now);
  removeMetricsForPods(metrics, grouping.ignored);
  removeMetricsForPods(metrics, grouping.unready);
  if (metrics.size === 0) throw new HpaMetricError('did not receive metrics for targeted pods (pods might be unready)');
  const { ratio: usageRatio, usage } = getMetricUsageRatio(metrics, targetUsage);
  const done = (replicas: number, outcome: string, newUsageRatio?: number): PlainReplicasResult => ({
    replicas,
    usage,
    trace: { grouping, usageRatio, newUsageRatio, outcome },
  });
  const scaleUpWithUnready = grouping.unready.size > 0 && usageRatio > 1.0;
  if (!scaleUpWithUnready && grouping.missing.size === 0) {
    if (isWithinTolerance(tolerances, usageRatio)) return done(currentReplicas, 'ratio within tolerance: keep the current count');
    return done(Math.ceil(usageRatio * grouping.readyPodCount), 'ceil(ratio × ready pods)');
  }
  if (grouping.missing.size > 0) {
    if (usageRatio < 1.0) for (const p of grouping.missing) metrics.set(p, { value: targetUsage, timestamp: 0, window: 0 });
    else if (usageRatio > 1.0) for (const p of grouping.missing) metrics.set(p, { value: 0, timestamp: 0, window: 0 });
  }
  if (scaleUpWithUnready) for (const p of grouping.unready) metrics.set(p, { value: 0, timestamp: 0, window: 0 });
  const newUsageRatio = getMetricUsageRatio(metrics, targetUsage).ratio;
  if (isWithinTolerance(tolerances, newUsageRatio) || (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0)) {
    return done(currentReplicas, 'with missing/unready pods at conservative values the ratio is within tolerance or flips direction: keep the current count', newUsageRatio);
  }
  const newReplicas = Math.ceil(newUsageRatio * metrics.size);
  if ((newUsageRatio < 1.0 && newReplicas > currentReplicas) || (newUsageRatio > 1.0 && newReplicas < currentReplicas)) {
    return done(currentReplicas, 'the recomputed count would move against the ratio: keep the current count', newUsageRatio);
  }
  return done(newReplicas, 'ceil(recomputed ratio × pods with samples)', newUsageRatio);
}

/** Ready = phase Running and condition Ready True (`getReadyPodsCount`). */
export function countReadyPods(pods: readonly HpaPod[]): number {
  if (pods.length === 0) throw new HpaMetricError('no pods returned by selector while calculating replica count');
  return pods.filter((p) => p.phase === 'Running' && p.ready?.status === 'True').length;
}

const MAX_INT32 = 2147483647;

/**
 * `getUsageRatioReplicaCount` (Object Value, External Value): `ceil(ratio × ready pods)`, or from
 * zero replicas `ceil(ratio)` without tolerance.
 */
export function getUsageRatioReplicaCount(currentReplicas: number, usageRatio: number, tolerances: Tolerances, pods: readonly HpaPod[]) {
  if (currentReplicas !== 0) {
    if (isWithinTolerance(tolerances, usageRatio)) return { replicas: currentReplicas, outcome: 'ratio within tolerance: keep the current count' };
    const ready = countReadyPods(pods);
    const f = usageRatio * ready;
    return { replicas: f > MAX_INT32 ? MAX_INT32 : Math.ceil(f), outcome: `ceil(ratio × ${ready} ready pods)` };
  }
  return { replicas: Math.ceil(usageRatio), outcome: 'from zero replicas: ceil(ratio), tolerance not applied' };
}

/** `GetObjectMetricReplicas` (Object, Value target). */
export function getObjectMetricReplicas(args: { currentReplicas: number; targetUsage: number; usage: number; tolerances?: Tolerances; pods: readonly HpaPod[] }) {
  const usageRatio = args.usage / args.targetUsage;
  const r = getUsageRatioReplicaCount(args.currentReplicas, usageRatio, args.tolerances ?? DEFAULT_TOLERANCES, args.pods);
  return { replicas: r.replicas, usage: args.usage, usageRatio, outcome: r.outcome };
}

/** `GetObjectPerPodMetricReplicas` / `GetExternalPerPodMetricReplicas` (AverageValue): ratio on `statusReplicas`. */
export function getPerPodValueReplicas(args: { statusReplicas: number; targetAverage: number; usage: number; tolerances?: Tolerances }) {
  const tolerances = args.tolerances ?? DEFAULT_TOLERANCES;
  let replicas = args.statusReplicas;
  const usageRatio = args.usage / (args.targetAverage * replicas);
  let outcome = 'total / (target × replicas) within tolerance: keep the current count';
  if (!isWithinTolerance(tolerances, usageRatio)) {
    const r = Math.ceil(args.usage / args.targetAverage);
    replicas = Math.min(r, MAX_INT32);
    outcome = 'ceil(total / target per pod)';
  }
  return { replicas, usage: Math.ceil(args.usage / args.statusReplicas), usageRatio, outcome };
}

/** `GetExternalMetricReplicas` (External, Value target): the sum of the series against the target. */
export function getExternalMetricReplicas(args: { currentReplicas: number; targetUsage: number; values: readonly number[]; tolerances?: Tolerances; pods: readonly HpaPod[] }) {
  const usage = args.values.reduce((a, b) => a + b, 0);
  return getObjectMetricReplicas({ currentReplicas: args.currentReplicas, targetUsage: args.targetUsage, usage, tolerances: args.tolerances, pods: args.pods });
}

/** `GetExternalPerPodMetricReplicas` (External, AverageValue target). */
export function getExternalPerPodMetricReplicas(args: { statusReplicas: number; targetAverage: number; values: readonly number[]; tolerances?: Tolerances }) {
  const usage = args.values.reduce((a, b) => a + b, 0);
  return getPerPodValueReplicas({ statusReplicas: args.statusReplicas, targetAverage: args.targetAverage, usage, tolerances: args.tolerances });
}
