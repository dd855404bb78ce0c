/**
 * A KEDA ScaledObject for the worker tier (kedacore/keda `apis/keda/v1alpha1/scaledobject_types.go`,
 * `pkg/scaling/executor/scale_scaledobjects.go`); its triggers are in `keda-triggers.ts`.
 *
 * Two control loops, as in a cluster:
 * - the KEDA operator polls the triggers every `pollingInterval`: 0 → max(minReplicaCount, 1) when any
 *   trigger is active, N → 0 once every trigger has been inactive for longer than `cooldownPeriod`
 *   (only with minReplicaCount 0);
 * - the HPA that KEDA creates (min = max(minReplicaCount, 1), max = maxReplicaCount) does 1 ↔ N on its
 *   own sync period, with one External AverageValue metric per trigger, through {@link reconcileHpa}.
 *
 * Pure functions: the controllers' memory is an explicit {@link KedaState}, returned, never mutated.
 * Times are seconds on the simulation clock; `nowMs` is the absolute instant (for cron windows).
 */
import { ScalingInputError } from '../errors.ts';
import type { HpaBehavior } from './hpa-behavior.ts';
import { normalizeBehavior } from './hpa-behavior.ts';
import type { HpaState } from './hpa.ts';
import { DEFAULT_TOLERANCE, combineMetricProposals, computeExternalAverageValueReplicas, createHpaState, reconcileHpa } from './hpa.ts';
import type { KedaTrigger, TriggerReading } from './keda-triggers.ts';

/** The ScaledObject fields the simulation uses, defaults filled in. */
export interface KedaScaledObject {
  /** @defaultValue 30 */
  pollingIntervalSeconds: number;
  /** @defaultValue 300 */
  cooldownPeriodSeconds: number;
  /** KEDA's default is 0; BullMQ workers want ≥ 1 (delayed jobs and retries need a running worker). */
  minReplicaCount: number;
  /** @defaultValue 100 */
  maxReplicaCount: number;
  triggers: KedaTrigger[];
  /** `advanced.horizontalPodAutoscalerConfig.behavior`. @defaultValue the API server's defaults */
  behavior: HpaBehavior;
  /** HPA controller tolerance. @defaultValue 0.1 */
  tolerance: number;
  /** HPA controller sync period. @defaultValue 15 */
  hpaSyncPeriodSeconds: number;
}

export const DEFAULT_SCALED_OBJECT: KedaScaledObject = {
  pollingIntervalSeconds: 30,
  cooldownPeriodSeconds: 300,
  minReplicaCount: 0,
  maxReplicaCount: 100,
  triggers: [],
  behavior: normalizeBehavior(),
  tolerance: DEFAULT_TOLERANCE,
  hpaSyncPeriodSeconds: 15,
};

function invalid(message: string): never {
  throw new ScalingInputError('INVALID_OPTION', message);
}

/** Fills defaults and refuses what KEDA's admission webhook or the scalers would refuse. */
export function createScaledObject(spec: Partial<KedaScaledObject> = {}): KedaScaledObject {
  const so: KedaScaledObject = { ...DEFAULT_SCALED_OBJECT, ...spec };
  if (!(so.pollingIntervalSeconds > 0)) invalid(`pollingInterval must be > 0 (got ${so.pollingIntervalSeconds})`);
  if (!(so.hpaSyncPeriodSeconds > 0)) invalid(`HPA sync period must be > 0 (got ${so.hpaSyncPeriodSeconds})`);
  if (!(so.cooldownPeriodSeconds >= 0)) invalid(`cooldownPeriod must be ≥ 0 (got ${so.cooldownPeriodSeconds})`);
  if (!Number.isInteger(so.minReplicaCount) || so.minReplicaCount < 0) invalid(`minReplicaCount must be an integer ≥ 0 (got ${so.minReplicaCount})`);
  if (!Number.isInteger(so.maxReplicaCount) || so.maxReplicaCount < Math.max(1, so.minReplicaCount)) {
    invalid(`maxReplicaCount must be an integer ≥ max(minReplicaCount, 1) (got ${so.maxReplicaCount})`);
  }
  if (so.triggers.length === 0) invalid('a ScaledObject needs at least one trigger');
  for (const t of so.triggers) {
    if (t.type === 'redis') {
      if (!t.listName) invalid(`trigger ${t.name}: listName is required`);
      if (!(t.listLength > 0)) invalid(`trigger ${t.name}: listLength must be > 0 (got ${t.listLength})`);
      if (!(t.activationListLength >= 0)) invalid(`trigger ${t.name}: activationListLength must be ≥ 0 (got ${t.activationListLength})`);
    } else {
      if (!Number.isInteger(t.desiredReplicas) || t.desiredReplicas < 1) invalid(`trigger ${t.name}: desiredReplicas must be an integer ≥ 1 (got ${t.desiredReplicas})`);
      if (!(t.endMs > t.startMs)) invalid(`trigger ${t.name}: the window must end after it starts`);
    }
  }
  return so;
}

/**
 * The HPA's metric-based proposal: per trigger `ceil(value / target)` unless `value / (target × current)`
 * is within the tolerance, then the max over triggers (so a cron window and the queue combine by max).
 */
export function proposeKedaHpaReplicas(readings: readonly TriggerReading[], currentReplicas: number, tolerance = DEFAULT_TOLERANCE): number | null {
  const proposals = readings.map((r) =>
    computeExternalAverageValueReplicas({ currentReplicas, total: r.value, targetPerPod: r.targetAverageValue, tolerance }),
  );
  return combineMetricProposals(proposals, currentReplicas);
}

/** The memory of KEDA's operator and of the HPA it owns. */
export interface KedaState {
  hpa: HpaState;
  /** `status.lastActiveTime` (seconds on the simulation clock). */
  lastActiveAt: number;
}

/**
 * Initial state. `lastActiveAt` defaults to the simulation start: the simulation begins in a steady
 * state, so the cooldown counts from then (KEDA itself scales down at once when the status has none).
 */
export function createKedaState(lastActiveAt = 0): KedaState {
  return { hpa: createHpaState(), lastActiveAt };
}

/** A controller's decision. */
export interface KedaDecision {
  replicas: number;
  state: KedaState;
  /** What happened: ScaleFromZero, ScaleToZero, ScaleToMin, KeepActive, Inactive (KEDA) or the HPA's reason. */
  reason: string;
}

/** One poll of the KEDA operator (`RequestScale`): activation and scale to zero only. */
export function pollScaledObject(
  so: KedaScaledObject,
  state: KedaState,
  input: { now: number; currentReplicas: number; readings: readonly TriggerReading[] },
): KedaDecision & { active: boolean } {
  const { now, currentReplicas: current } = input;
  const active = input.readings.some((r) => r.active);
  if (active) {
    const next = { ...state, lastActiveAt: now };
    if (current === 0) return { replicas: Math.max(so.minReplicaCount, 1), state: next, reason: 'ScaleFromZero', active };
    return { replicas: current, state: next, reason: 'KeepActive', active };
  }
  // `lastActiveTime + cooldownPeriod` strictly before now, as in scaleToZeroOrIdle.
  if (current > 0 && so.minReplicaCount === 0 && state.lastActiveAt + so.cooldownPeriodSeconds < now) {
    return { replicas: 0, state, reason: 'ScaleToZero', active };
  }
  if (current < so.minReplicaCount) return { replicas: so.minReplicaCount, state, reason: 'ScaleToMin', active };
  return { replicas: current, state, reason: 'Inactive', active };
}

/**
 * One sync of the HPA KEDA created. At 0 replicas the HPA does nothing (scaling is disabled while the
 * target has no replicas; KEDA owns 0 ↔ 1).
 */
export function syncKedaHpa(
  so: KedaScaledObject,
  state: KedaState,
  input: { now: number; currentReplicas: number; readings: readonly TriggerReading[] },
): KedaDecision {
  const { now, currentReplicas: current } = input;
  if (current === 0) return { replicas: 0, state, reason: 'ScalingDisabled' };
  const limits = { minReplicas: Math.max(so.minReplicaCount, 1), maxReplicas: so.maxReplicaCount, behavior: so.behavior };
  const metricDesiredReplicas = proposeKedaHpaReplicas(input.readings, current, so.tolerance);
  const decision = reconcileHpa(limits, state.hpa, { now, currentReplicas: current, metricDesiredReplicas });
  return { replicas: decision.desiredReplicas, state: { ...state, hpa: decision.state }, reason: decision.reason };
}
