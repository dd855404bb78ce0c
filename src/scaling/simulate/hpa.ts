/**
 * A port of the Kubernetes HPA controller's normalisation (kubernetes/kubernetes v1.35,
 * `pkg/controller/podautoscaler/horizontal.go`): stabilization, behavior rate limits, the legacy
 * path, the controller's recommendation and scale-event bookkeeping, and the simulator's entry
 * points onto the replica calculator (`hpa-replica-calculator.ts`). Time is in seconds on the
 * simulation clock. Every function is pure: the controller's memory is an explicit
 * {@link HpaState} that is returned, never mutated.
 */
import type { HpaBehavior, HpaScalingRules } from './hpa-behavior.ts';
import type { HpaPod, PodMetricsInfo, Tolerances } from './hpa-replica-calculator.ts';
import { DEFAULT_TOLERANCE, getPerPodValueReplicas, getResourceReplicas, HpaMetricError } from './hpa-replica-calculator.ts';

export { DEFAULT_TOLERANCE };

/** How the controller classified a pod for one metric (`groupPods`). */
export type PodMetricState = 'ready' | 'unready' | 'missing' | 'ignored';

/** One pod as the simulator samples it for a resource metric, already classified. */
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
  /** `trunc(100·Σusage/Σrequest)` over ready pods. */
  utilization: number;
}

const SIM_RESOURCE = 'simulated';

function toTolerances(t: number | Tolerances | undefined): Tolerances {
  if (t === undefined) return { scaleDown: DEFAULT_TOLERANCE, scaleUp: DEFAULT_TOLERANCE };
  return typeof t === 'number' ? { scaleDown: t, scaleUp: t } : t;
}

/**
 * `GetResourceReplicas` for the simulator: each classified sample becomes a pod for the ported
 * calculator (unready → Pending, missing → no sample, ignored → Failed), so the simulation runs the
 * same code as `hpa explain`. Null when no pod has a usable sample.
 */
export function computeResourceReplicas(args: {
  currentReplicas: number;
  pods: PodResourceSample[];
  targetUtilization: number;
  tolerance?: number | Tolerances;
}): ResourceProposal | null {
  const pods: HpaPod[] = [];
  const metrics: PodMetricsInfo = new Map();
  args.pods.forEach((p, i) => {
    const name = `pod-${i}`;
    const phase = p.state === 'unready' ? 'Pending' : p.state === 'ignored' ? 'Failed' : 'Running';
    pods.push({ name, phase, deleted: false, startTime: 0, ready: { status: 'True', lastTransitionTime: 0 }, containers: [{ name: 'app', requests: { [SIM_RESOURCE]: p.request } }] });
    if (p.state === 'ready') metrics.set(name, { value: p.usage, timestamp: 0, window: 0 });
  });
  try {
    const r = getResourceReplicas({ currentReplicas: args.currentReplicas, targetUtilization: args.targetUtilization, resource: SIM_RESOURCE, tolerances: toTolerances(args.tolerance), pods, metrics, now: 0 });
    return { replicas: r.replicas, utilization: r.utilization };
  } catch (e) {
    if (e instanceof HpaMetricError) return null;
    throw e;
  }
}

/**
 * `GetExternalPerPodMetricReplicas` (External metric, AverageValue target — what KEDA's scalers use):
 * tolerance is checked on `total / (target × currentReplicas)`, the proposal is `ceil(total / target)`.
 */
export function computeExternalAverageValueReplicas(args: {
  currentReplicas: number;
  total: number;
  targetPerPod: number;
  tolerance?: number | Tolerances;
}): number {
  return getPerPodValueReplicas({ statusReplicas: args.currentReplicas, targetAverage: args.targetPerPod, usage: args.total, tolerances: toTolerances(args.tolerance) }).replicas;
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

/** A recommendation as the controller stores it (`timestampedRecommendation`). */
export interface TimestampedRecommendation {
  at: number;
  value: number;
}

/** A rescale as the controller stores it (`timestampedScaleEvent`); `outdated` slots are reused. */
export interface ScaleEvent {
  at: number;
  value: number;
  outdated: boolean;
}

/**
 * What the controller remembers per HPA between syncs. `recommendations` is null until the first
 * sync, which records the current count (`recordInitialRecommendation`); an empty list is a
 * controller that has seen the HPA but holds no recommendation.
 */
export interface HpaState {
  recommendations: TimestampedRecommendation[] | null;
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}

export function createHpaState(): HpaState {
  return { recommendations: null, scaleUpEvents: [], scaleDownEvents: [] };
}

/** `scaleUpLimitFactor` / `scaleUpLimitMinimum` of horizontal.go (package variables upstream). */
export const DEFAULT_SCALE_UP_LIMIT = { factor: 2.0, minimum: 4.0 } as const;

/** Bounds and optional behavior of an HPA; no behavior means the legacy normalisation. */
export interface HpaLimits {
  /** @defaultValue 1 */
  minReplicas: number;
  maxReplicas: number;
  behavior?: HpaBehavior;
  /** Legacy mode only: `--horizontal-pod-autoscaler-downscale-stabilization`. @defaultValue 300 */
  downscaleStabilizationSeconds?: number;
  /** Legacy mode only: `scaleUpLimitFactor`. @defaultValue 2 */
  scaleUpLimitFactor?: number;
  /** Legacy mode only: `scaleUpLimitMinimum`. @defaultValue 4 */
  scaleUpLimitMinimum?: number;
}

/** One HPA status condition (type, status, reason, message), as `setCondition` writes it. */
export interface HpaCondition {
  type: 'AbleToScale' | 'ScalingActive' | 'ScalingLimited';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** `setCondition`: replaces the condition of the same type in place, else appends. */
export function setCondition(conditions: HpaCondition[], c: HpaCondition): HpaCondition[] {
  const i = conditions.findIndex((x) => x.type === c.type);
  if (i < 0) return [...conditions, c];
  const next = [...conditions];
  next[i] = c;
  return next;
}

/** What stabilization did: the window bounds and the entries that set them. */
export interface StabilizationTrace {
  mode: 'behavior' | 'legacy';
  /** The recommendation before stabilization. */
  desired: number;
  stabilized: number;
  /** Behavior: min of recommendations inside the scale-up window (the desired count included). */
  upRecommendation?: number;
  /** Behavior: max of recommendations inside the scale-down window; legacy: max inside the window. */
  downRecommendation?: number;
  /** The stored entry that limited the result, if one did. */
  limitingEntry?: TimestampedRecommendation;
}

/** What the rate limits did: the policy limit and which policy set it. */
export interface RateTrace {
  direction: 'up' | 'down' | 'none';
  limit?: number;
  /** `Pods 4/15s` etc.; for legacy, `max(2 × current, 4)`. */
  policy?: string;
  minAllowed?: number;
  maxAllowed?: number;
}

/** Result of one reconcile. */
export interface HpaDecision {
  desiredReplicas: number;
  state: HpaState;
  /** ScalingLimited reason (DesiredWithinRange, ScaleUpLimit, …) or the bound/disable reason. */
  reason: string;
  conditions: HpaCondition[];
  /** True when the controller would update the scale subresource. */
  rescale: boolean;
  stabilization?: StabilizationTrace;
  rate?: RateTrace;
}

/** `getReplicasChangePerPeriod`: events strictly after `now − period`. */
export function getReplicasChangePerPeriod(periodSeconds: number, events: readonly ScaleEvent[], now: number): number {
  const cutoff = now - periodSeconds;
  let sum = 0;
  for (const e of events) if (e.at > cutoff) sum += e.value;
  return sum;
}

function describePolicy(p: { type: string; value: number; periodSeconds: number }): string {
  return `${p.type} ${p.value}${p.type === 'Percent' ? ' %' : ''} per ${p.periodSeconds} s`;
}

/** `calculateScaleUpLimitWithScalingRules` (start of period = current − added + removed). */
export function computeScaleUpLimit(current: number, state: Pick<HpaState, 'scaleUpEvents' | 'scaleDownEvents'>, rules: HpaScalingRules, now: number): number {
  return scaleUpLimitWithPolicy(current, state, rules, now).limit;
}

function scaleUpLimitWithPolicy(current: number, state: Pick<HpaState, 'scaleUpEvents' | 'scaleDownEvents'>, rules: HpaScalingRules, now: number) {
  if (rules.selectPolicy === 'Disabled') return { limit: current, policy: 'selectPolicy Disabled' };
  const useMin = rules.selectPolicy === 'Min';
  let result = useMin ? 2147483647 : -2147483648;
  let policy = '';
  for (const p of rules.policies) {
    const start = current - getReplicasChangePerPeriod(p.periodSeconds, state.scaleUpEvents, now) + getReplicasChangePerPeriod(p.periodSeconds, state.scaleDownEvents, now);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    if (useMin ? proposed < result : proposed > result) {
      result = proposed;
      policy = `${describePolicy(p)} from ${start}`;
    }
  }
  return { limit: result, policy };
}

/** `calculateScaleDownLimitWithBehaviors` (Max picks the lowest limit, i.e. the biggest change). */
export function computeScaleDownLimit(current: number, state: Pick<HpaState, 'scaleUpEvents' | 'scaleDownEvents'>, rules: HpaScalingRules, now: number): number {
  return scaleDownLimitWithPolicy(current, state, rules, now).limit;
}

function scaleDownLimitWithPolicy(current: number, state: Pick<HpaState, 'scaleUpEvents' | 'scaleDownEvents'>, rules: HpaScalingRules, now: number) {
  if (rules.selectPolicy === 'Disabled') return { limit: current, policy: 'selectPolicy Disabled' };
  const useMin = rules.selectPolicy === 'Min';
  let result = useMin ? -2147483648 : 2147483647;
  let policy = '';
  for (const p of rules.policies) {
    const start = current - getReplicasChangePerPeriod(p.periodSeconds, state.scaleUpEvents, now) + getReplicasChangePerPeriod(p.periodSeconds, state.scaleDownEvents, now);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    if (useMin ? proposed > result : proposed < result) {
      result = proposed;
      policy = `${describePolicy(p)} from ${start}`;
    }
  }
  return { limit: result, policy };
}

/**
 * `stabilizeRecommendationWithBehaviors`: clamp(current, min of the up window, max of the down
 * window); stores the new recommendation in the last slot older than both windows, else appends.
 */
export function stabilizeRecommendationWithBehaviors(behavior: HpaBehavior, recommendations: readonly TimestampedRecommendation[], current: number, desired: number, now: number) {
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds;
  let upRec = desired;
  let downRec = desired;
  let upEntry: TimestampedRecommendation | undefined;
  let downEntry: TimestampedRecommendation | undefined;
  let oldIndex = -1;
  recommendations.forEach((rec, i) => {
    if (rec.at > upCutoff && rec.value < upRec) {
      upRec = rec.value;
      upEntry = rec;
    }
    if (rec.at > downCutoff && rec.value > downRec) {
      downRec = rec.value;
      downEntry = rec;
    }
    if (rec.at < upCutoff && rec.at < downCutoff) oldIndex = i;
  });
  let recommendation = current;
  let limitingEntry: TimestampedRecommendation | undefined;
  if (recommendation < upRec) {
    recommendation = upRec;
    limitingEntry = upEntry;
  }
  if (recommendation > downRec) {
    recommendation = downRec;
    limitingEntry = downEntry;
  }
  const next = [...recommendations];
  if (oldIndex >= 0) next[oldIndex] = { at: now, value: desired };
  else next.push({ at: now, value: desired });
  const reason = desired >= current ? 'ScaleUpStabilized' : 'ScaleDownStabilized';
  const message =
    desired >= current
      ? 'recent recommendations were lower than current one, applying the lowest recent recommendation'
      : 'recent recommendations were higher than current one, applying the highest recent recommendation';
  return { recommendation, recommendations: next, reason, message, upRecommendation: upRec, downRecommendation: downRec, limitingEntry: recommendation === desired ? undefined : limitingEntry };
}

/** `convertDesiredReplicasWithBehaviorRate`. */
export function convertDesiredReplicasWithBehaviorRate(args: {
  behavior: HpaBehavior;
  state: Pick<HpaState, 'scaleUpEvents' | 'scaleDownEvents'>;
  minReplicas: number;
  maxReplicas: number;
  currentReplicas: number;
  desiredReplicas: number;
  now: number;
}): { replicas: number; reason: string; message: string; rate: RateTrace } {
  const { currentReplicas: current, desiredReplicas: desired } = args;
  if (desired > current) {
    const up = scaleUpLimitWithPolicy(current, args.state, args.behavior.scaleUp, args.now);
    const scaleUpLimit = Math.max(up.limit, current);
    let maxAllowed = args.maxReplicas;
    let reason = 'TooManyReplicas';
    let message = 'the desired replica count is more than the maximum replica count';
    if (maxAllowed > scaleUpLimit) {
      maxAllowed = scaleUpLimit;
      reason = 'ScaleUpLimit';
      message = 'the desired replica count is increasing faster than the maximum scale rate';
    }
    const rate: RateTrace = { direction: 'up', limit: scaleUpLimit, policy: up.policy, maxAllowed };
    if (desired > maxAllowed) return { replicas: maxAllowed, reason, message, rate };
    return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range', rate };
  }
  if (desired < current) {
    const down = scaleDownLimitWithPolicy(current, args.state, args.behavior.scaleDown, args.now);
    const scaleDownLimit = Math.min(down.limit, current);
    let minAllowed = args.minReplicas;
    let reason = 'TooFewReplicas';
    let message = 'the desired replica count is less than the minimum replica count';
    if (minAllowed < scaleDownLimit) {
      minAllowed = scaleDownLimit;
      reason = 'ScaleDownLimit';
      message = 'the desired replica count is decreasing faster than the maximum scale rate';
    }
    const rate: RateTrace = { direction: 'down', limit: scaleDownLimit, policy: down.policy, minAllowed };
    if (desired < minAllowed) return { replicas: minAllowed, reason, message, rate };
    return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range', rate };
  }
  return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range', rate: { direction: 'none' } };
}

/** Legacy `stabilizeRecommendation`: max over the window; the new value reuses the last stale slot. */
export function stabilizeRecommendation(recommendations: readonly TimestampedRecommendation[], desired: number, windowSeconds: number, now: number) {
  let max = desired;
  let limitingEntry: TimestampedRecommendation | undefined;
  let oldIndex = -1;
  const cutoff = now - windowSeconds;
  recommendations.forEach((rec, i) => {
    if (rec.at < cutoff) oldIndex = i;
    else if (rec.value > max) {
      max = rec.value;
      limitingEntry = rec;
    }
  });
  const next = [...recommendations];
  if (oldIndex >= 0) next[oldIndex] = { at: now, value: desired };
  else next.push({ at: now, value: desired });
  return { recommendation: max, recommendations: next, limitingEntry };
}

/** Legacy `calculateScaleUpLimit`: `max(factor × current, minimum)`. */
export function calculateScaleUpLimit(current: number, factor: number = DEFAULT_SCALE_UP_LIMIT.factor, minimum: number = DEFAULT_SCALE_UP_LIMIT.minimum): number {
  return Math.trunc(Math.max(factor * current, minimum));
}

/** Legacy `convertDesiredReplicasWithRules`. */
export function convertDesiredReplicasWithRules(current: number, desired: number, min: number, max: number, factor?: number, minimum?: number) {
  const scaleUpLimit = calculateScaleUpLimit(current, factor, minimum);
  let maxAllowed = max;
  let reason = 'TooManyReplicas';
  let message = 'the desired replica count is more than the maximum replica count';
  if (max > scaleUpLimit) {
    maxAllowed = scaleUpLimit;
    reason = 'ScaleUpLimit';
    message = 'the desired replica count is increasing faster than the maximum scale rate';
  }
  if (desired < min) return { replicas: min, reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count', scaleUpLimit };
  if (desired > maxAllowed) return { replicas: maxAllowed, reason, message, scaleUpLimit };
  return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range', scaleUpLimit };
}

function longestPolicyPeriod(rules: HpaScalingRules): number {
  let longest = 0;
  for (const p of rules.policies) if (p.periodSeconds > longest) longest = p.periodSeconds;
  return longest;
}

/**
 * `storeScaleEvent`: nothing without behavior; else events older than the direction's longest
 * policy period are marked outdated and the last outdated slot is reused for the new event.
 */
export function storeScaleEvent(state: HpaState, behavior: HpaBehavior | undefined, prev: number, next: number, now: number): HpaState {
  if (!behavior) return state;
  const up = next > prev;
  const rules = up ? behavior.scaleUp : behavior.scaleDown;
  const cutoff = now - longestPolicyPeriod(rules);
  const events = (up ? state.scaleUpEvents : state.scaleDownEvents).map((e) => (e.at < cutoff ? { ...e, outdated: true } : e));
  let oldIndex = -1;
  events.forEach((e, i) => {
    if (e.outdated) oldIndex = i;
  });
  const event: ScaleEvent = { at: now, value: up ? next - prev : prev - next, outdated: false };
  if (oldIndex >= 0) events[oldIndex] = event;
  else events.push(event);
  return up ? { ...state, scaleUpEvents: events } : { ...state, scaleDownEvents: events };
}

/**
 * The part of `reconcileAutoscaler` after the metrics: bounds first (target at zero with min > 0 →
 * scaling disabled; above max → max; below min → min), else stabilization and rate limits, then
 * the scale event. `metricDesiredReplicas` null (every metric failed, or one failed and the others
 * propose a scale-down) keeps the current count, as the controller's early return does.
 */
export function reconcileHpa(
  limits: HpaLimits,
  state: HpaState,
  input: { now: number; currentReplicas: number; metricDesiredReplicas: number | null; conditions?: HpaCondition[] },
): HpaDecision {
  const { now, currentReplicas: current } = input;
  let conditions = input.conditions ?? [{ type: 'AbleToScale', status: 'True', reason: 'SucceededGetScale', message: 'the HPA controller was able to get the target\'s current scale' } as HpaCondition];
  let next: HpaState = state.recommendations === null ? { ...state, recommendations: [{ at: now, value: current }] } : state;
  const recs = next.recommendations ?? [];
  let desired: number;
  let reason: string;
  let stabilization: StabilizationTrace | undefined;
  let rate: RateTrace | undefined;
  if (current === 0 && limits.minReplicas !== 0) {
    conditions = setCondition(conditions, { type: 'ScalingActive', status: 'False', reason: 'ScalingDisabled', message: 'scaling is disabled since the replica count of the target is zero' });
    return { desiredReplicas: 0, state: next, reason: 'ScalingDisabled', conditions, rescale: false };
  }
  if (current > limits.maxReplicas) {
    desired = limits.maxReplicas;
    reason = 'CurrentAboveMax';
  } else if (current < limits.minReplicas) {
    desired = limits.minReplicas;
    reason = 'CurrentBelowMin';
  } else if (input.metricDesiredReplicas === null) {
    return { desiredReplicas: current, state: next, reason: 'FailedGetMetrics', conditions, rescale: false };
  } else {
    const metricDesired = Math.max(0, input.metricDesiredReplicas);
    if (limits.behavior) {
      const b = limits.behavior;
      const stab = stabilizeRecommendationWithBehaviors(b, recs, current, metricDesired, now);
      next = { ...next, recommendations: stab.recommendations };
      conditions = setCondition(
        conditions,
        stab.recommendation !== metricDesired
          ? { type: 'AbleToScale', status: 'True', reason: stab.reason, message: stab.message }
          : { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' },
      );
      stabilization = { mode: 'behavior', desired: metricDesired, stabilized: stab.recommendation, upRecommendation: stab.upRecommendation, downRecommendation: stab.downRecommendation, limitingEntry: stab.limitingEntry };
      const r = convertDesiredReplicasWithBehaviorRate({ behavior: b, state: next, minReplicas: limits.minReplicas, maxReplicas: limits.maxReplicas, currentReplicas: current, desiredReplicas: stab.recommendation, now });
      desired = r.replicas;
      reason = r.reason;
      rate = r.rate;
      conditions = setCondition(conditions, { type: 'ScalingLimited', status: desired === stab.recommendation ? 'False' : 'True', reason: r.reason, message: r.message });
    } else {
      const stab = stabilizeRecommendation(recs, metricDesired, limits.downscaleStabilizationSeconds ?? 300, now);
      next = { ...next, recommendations: stab.recommendations };
      conditions = setCondition(
        conditions,
        stab.recommendation !== metricDesired
          ? { type: 'AbleToScale', status: 'True', reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' }
          : { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' },
      );
      stabilization = { mode: 'legacy', desired: metricDesired, stabilized: stab.recommendation, downRecommendation: stab.recommendation, limitingEntry: stab.limitingEntry };
      const r = convertDesiredReplicasWithRules(current, stab.recommendation, limits.minReplicas, limits.maxReplicas, limits.scaleUpLimitFactor, limits.scaleUpLimitMinimum);
      desired = r.replicas;
      reason = r.reason;
      rate = { direction: stab.recommendation > current ? 'up' : stab.recommendation < current ? 'down' : 'none', limit: r.scaleUpLimit, maxAllowed: Math.min(limits.maxReplicas, r.scaleUpLimit), minAllowed: limits.minReplicas, policy: `legacy max(${limits.scaleUpLimitFactor ?? DEFAULT_SCALE_UP_LIMIT.factor} × current, ${limits.scaleUpLimitMinimum ?? DEFAULT_SCALE_UP_LIMIT.minimum})` };
      conditions = setCondition(conditions, { type: 'ScalingLimited', status: desired === stab.recommendation ? 'False' : 'True', reason: r.reason, message: r.message });
    }
  }
  const rescale = desired !== current;
  if (rescale) {
    conditions = setCondition(conditions, { type: 'AbleToScale', status: 'True', reason: 'SucceededRescale', message: `the HPA controller was able to update the target scale to ${desired}` });
    next = storeScaleEvent(next, limits.behavior, current, desired, now);
  }
  return { desiredReplicas: desired, state: next, reason, conditions, rescale, stabilization, rate };
}
