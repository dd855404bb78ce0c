/**
 * A port of the Kubernetes HPA replica calculation and normalisation
 * (kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator.go` and `horizontal.go`).
 * Time is in seconds on the simulation clock. Every function is pure: the controller's memory
 * (recommendations, scale events) is an explicit {@link HpaState} that is returned, never mutated.
 */
import type { HpaBehavior, HpaScalingRules } from './hpa-behavior.ts';

/** Controller flag `--horizontal-pod-autoscaler-tolerance`. */
export const DEFAULT_TOLERANCE = 0.1;

/** How the controller classified a pod for one metric (`groupPods`). */
export type PodMetricState = 'ready' | 'unready' | 'missing' | 'ignored';

/** One pod as the replica calculator sees it for a resource metric. */
export interface PodResourceSample {
  state: PodMetricState;
  /** Usage in the resource's unit (e.g. millicores); ignored unless `state` is `ready`. */
  usage: number;
  /** Resource request in the same unit. */
  request: number;
}

/** Result of one resource-metric calculation. */
export interface ResourceProposal {
  replicas: number;
  /** `floor(100·Σusage/Σrequest)` over ready pods. */
  utilization: number;
}

function utilizationOf(samples: { usage: number; request: number }[]): number {
  let usage = 0;
  let request = 0;
  for (const s of samples) {
    usage += s.usage;
    request += s.request;
  }
  return Math.floor((usage * 100) / request);
}

/**
 * `GetResourceReplicas`: returns null when no pod has a usable metric (the controller reports
 * "did not receive metrics for targeted pods").
 */
export function computeResourceReplicas(args: {
  currentReplicas: number;
  pods: PodResourceSample[];
  targetUtilization: number;
  tolerance?: number;
}): ResourceProposal | null {
  const tolerance = args.tolerance ?? DEFAULT_TOLERANCE;
  const ready = args.pods.filter((p) => p.state === 'ready');
  const unready = args.pods.filter((p) => p.state === 'unready');
  const missing = args.pods.filter((p) => p.state === 'missing');
  if (ready.length === 0) return null;
  const utilization = utilizationOf(ready);
  const usageRatio = utilization / args.targetUtilization;

  const scaleUpWithUnready = unready.length > 0 && usageRatio > 1.0;
  if (!scaleUpWithUnready && missing.length === 0) {
    if (Math.abs(1.0 - usageRatio) <= tolerance) return { replicas: args.currentReplicas, utilization };
    return { replicas: Math.ceil(usageRatio * ready.length), utilization };
  }

  // Re-run with conservative values for the pods without a usable sample.
  const samples = ready.map((p) => ({ usage: p.usage, request: p.request }));
  if (missing.length > 0) {
    if (usageRatio < 1.0) {
      const fallback = Math.max(100, args.targetUtilization);
      for (const p of missing) samples.push({ usage: (p.request * fallback) / 100, request: p.request });
    } else if (usageRatio > 1.0) {
      for (const p of missing) samples.push({ usage: 0, request: p.request });
    }
  }
  if (scaleUpWithUnready) {
    for (const p of unready) samples.push({ usage: 0, request: p.request });
  }
  const newUsageRatio = utilizationOf(samples) / args.targetUtilization;
  if (
    Math.abs(1.0 - newUsageRatio) <= tolerance ||
    (usageRatio < 1.0 && newUsageRatio > 1.0) ||
    (usageRatio > 1.0 && newUsageRatio < 1.0)
  ) {
    return { replicas: args.currentReplicas, utilization };
  }
  const newReplicas = Math.ceil(newUsageRatio * samples.length);
  if ((newUsageRatio < 1.0 && newReplicas > args.currentReplicas) || (newUsageRatio > 1.0 && newReplicas < args.currentReplicas)) {
    return { replicas: args.currentReplicas, utilization };
  }
  return { replicas: newReplicas, utilization };
}

/**
 * `GetExternalPerPodMetricReplicas` (External metric, AverageValue target — what KEDA's scalers use):
 * tolerance is checked on `total / (target × currentReplicas)`, the proposal is `ceil(total / target)`.
 */
export function computeExternalAverageValueReplicas(args: {
  currentReplicas: number;
  total: number;
  targetPerPod: number;
  tolerance?: number;
}): number {
  const tolerance = args.tolerance ?? DEFAULT_TOLERANCE;
  const usageRatio = args.total / (args.targetPerPod * args.currentReplicas);
  if (Math.abs(1.0 - usageRatio) > tolerance) return Math.ceil(args.total / args.targetPerPod);
  return args.currentReplicas;
}

/**
 * `computeReplicasForMetrics`: the max of the per-metric proposals. `null` marks a metric that failed;
 * if all failed, or some failed and the rest propose a scale-down, the controller does not act (null).
 */
export function combineMetricProposals(proposals: (number | null)[], currentReplicas: number): number | null {
  const valid = proposals.filter((p): p is number => p !== null);
  if (valid.length === 0) return null;
  const max = Math.max(...valid);
  if (valid.length < proposals.length && max < currentReplicas) return null;
  return max;
}

interface Timestamped {
  at: number;
  value: number;
}

/** What the controller remembers per HPA between syncs. */
export interface HpaState {
  /** Unstabilised recommendations (`a.recommendations[key]`). */
  recommendations: Timestamped[];
  /** Replica changes of past rescales (`a.scaleUpEvents` / `a.scaleDownEvents`), behavior mode only. */
  scaleUpEvents: Timestamped[];
  scaleDownEvents: Timestamped[];
}

export function createHpaState(): HpaState {
  return { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };
}

/** Bounds and optional behavior of an HPA; no behavior means the legacy (pre-v2) normalisation. */
export interface HpaLimits {
  /** @defaultValue 1 */
  minReplicas: number;
  maxReplicas: number;
  behavior?: HpaBehavior;
  /** Legacy mode only: controller flag for the downscale window. @defaultValue 300 */
  downscaleStabilizationSeconds?: number;
}

/** Result of one reconcile. */
export interface HpaDecision {
  desiredReplicas: number;
  state: HpaState;
  /** The limit that shaped the result, as in the HPA's ScalingLimited condition. */
  reason: string;
}

/** `getReplicasChangePerPeriod`: events strictly after `now − period`. */
function changeInPeriod(events: Timestamped[], now: number, periodSeconds: number): number {
  const cutoff = now - periodSeconds;
  let sum = 0;
  for (const e of events) if (e.at > cutoff) sum += e.value;
  return sum;
}

/** `calculateScaleUpLimitWithScalingRules`. */
export function computeScaleUpLimit(current: number, state: HpaState, rules: HpaScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max;
  let result = rules.selectPolicy === 'Min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const policy of rules.policies) {
    const added = changeInPeriod(state.scaleUpEvents, now, policy.periodSeconds);
    const removed = changeInPeriod(state.scaleDownEvents, now, policy.periodSeconds);
    const start = current - added + removed;
    const proposed = policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** `calculateScaleDownLimitWithBehaviors` (Max picks the lowest limit, i.e. the biggest change). */
export function computeScaleDownLimit(current: number, state: HpaState, rules: HpaScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min;
  let result = rules.selectPolicy === 'Min' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const policy of rules.policies) {
    const added = changeInPeriod(state.scaleUpEvents, now, policy.periodSeconds);
    const removed = changeInPeriod(state.scaleDownEvents, now, policy.periodSeconds);
    const start = current - added + removed;
    const proposed = policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** `stabilizeRecommendationWithBehaviors`: clamp(current, min of up-window, max of down-window). */
function stabilizeWithBehavior(behavior: HpaBehavior, state: HpaState, current: number, desired: number, now: number) {
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds;
  let upRec = desired;
  let downRec = desired;
  for (const rec of state.recommendations) {
    if (rec.at > upCutoff) upRec = Math.min(rec.value, upRec);
    if (rec.at > downCutoff) downRec = Math.max(rec.value, downRec);
  }
  let recommendation = current;
  if (recommendation < upRec) recommendation = upRec;
  if (recommendation > downRec) recommendation = downRec;
  // The controller overwrites one sample older than both windows, else appends; dropping all of them is equivalent.
  const keepFrom = Math.min(upCutoff, downCutoff);
  const recommendations = [...state.recommendations.filter((r) => r.at >= keepFrom), { at: now, value: desired }];
  return { recommendation, recommendations };
}

/** `convertDesiredReplicasWithBehaviorRate`. */
function applyBehaviorRate(limits: HpaLimits & { behavior: HpaBehavior }, state: HpaState, current: number, desired: number, now: number) {
  let minAllowed = limits.minReplicas;
  let maxAllowed = limits.maxReplicas;
  let reason = 'DesiredWithinRange';
  if (desired > current) {
    let upLimit = computeScaleUpLimit(current, state, limits.behavior.scaleUp, now);
    if (upLimit < current) upLimit = current;
    if (maxAllowed > upLimit) {
      maxAllowed = upLimit;
      reason = 'ScaleUpLimit';
    } else reason = 'TooManyReplicas';
  } else if (desired < current) {
    let downLimit = computeScaleDownLimit(current, state, limits.behavior.scaleDown, now);
    if (downLimit > current) downLimit = current;
    if (minAllowed < downLimit) {
      minAllowed = downLimit;
      reason = 'ScaleDownLimit';
    } else reason = 'TooFewReplicas';
  }
  if (desired > maxAllowed) return { replicas: maxAllowed, reason };
  if (desired < minAllowed) return { replicas: minAllowed, reason };
  return { replicas: desired, reason: 'DesiredWithinRange' };
}

/** Legacy `stabilizeRecommendation` + `convertDesiredReplicasWithRules`. */
function normalizeLegacy(limits: HpaLimits, state: HpaState, current: number, desired: number, now: number) {
  const cutoff = now - (limits.downscaleStabilizationSeconds ?? 300);
  let stabilized = desired;
  for (const rec of state.recommendations) if (rec.at >= cutoff && rec.value > stabilized) stabilized = rec.value;
  const recommendations = [...state.recommendations.filter((r) => r.at >= cutoff), { at: now, value: desired }];
  const scaleUpLimit = Math.max(2 * current, 4);
  const maxAllowed = Math.min(limits.maxReplicas, scaleUpLimit);
  let replicas = stabilized;
  let reason = 'DesiredWithinRange';
  if (replicas < limits.minReplicas) {
    replicas = limits.minReplicas;
    reason = 'TooFewReplicas';
  } else if (replicas > maxAllowed) {
    replicas = maxAllowed;
    reason = maxAllowed === limits.maxReplicas ? 'TooManyReplicas' : 'ScaleUpLimit';
  }
  return { replicas, reason, recommendations };
}

/** Drops scale events older than the longest policy period (they can no longer matter). */
function recordScaleEvent(state: HpaState, behavior: HpaBehavior | undefined, from: number, to: number, now: number): HpaState {
  if (!behavior || from === to) return state;
  const longest = Math.max(
    ...behavior.scaleUp.policies.map((p) => p.periodSeconds),
    ...behavior.scaleDown.policies.map((p) => p.periodSeconds),
    0,
  );
  const fresh = (e: Timestamped) => e.at > now - longest;
  const up = state.scaleUpEvents.filter(fresh);
  const down = state.scaleDownEvents.filter(fresh);
  if (to > from) up.push({ at: now, value: to - from });
  else down.push({ at: now, value: from - to });
  return { ...state, scaleUpEvents: up, scaleDownEvents: down };
}

/**
 * `reconcileAutoscaler` after the metrics: bounds first (current above max → max, below min → min),
 * otherwise stabilisation and rate limits. `metricDesiredReplicas` null (metrics unavailable) keeps the
 * current count and records nothing, like the controller's error path.
 */
export function reconcileHpa(
  limits: HpaLimits,
  state: HpaState,
  input: { now: number; currentReplicas: number; metricDesiredReplicas: number | null },
): HpaDecision {
  const { now, currentReplicas: current } = input;
  let desired: number;
  let reason: string;
  let next = state;
  if (current > limits.maxReplicas) {
    desired = limits.maxReplicas;
    reason = 'CurrentAboveMax';
  } else if (current < limits.minReplicas) {
    desired = limits.minReplicas;
    reason = 'CurrentBelowMin';
  } else if (input.metricDesiredReplicas === null) {
    return { desiredReplicas: current, state, reason: 'FailedGetMetrics' };
  } else if (limits.behavior) {
    const behaviorLimits = { ...limits, behavior: limits.behavior };
    const stab = stabilizeWithBehavior(limits.behavior, state, current, input.metricDesiredReplicas, now);
    next = { ...state, recommendations: stab.recommendations };
    const rate = applyBehaviorRate(behaviorLimits, state, current, stab.recommendation, now);
    desired = rate.replicas;
    reason = rate.reason;
  } else {
    const legacy = normalizeLegacy(limits, state, current, input.metricDesiredReplicas, now);
    next = { ...state, recommendations: legacy.recommendations };
    desired = legacy.replicas;
    reason = legacy.reason;
  }
  return { desiredReplicas: desired, state: recordScaleEvent(next, limits.behavior, current, desired, now), reason };
}
