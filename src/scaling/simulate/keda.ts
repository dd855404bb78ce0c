/**
 * A KEDA ScaledObject for the worker tier (kedacore/keda `apis/keda/v1alpha1/scaledobject_types.go`,
 * `pkg/scaling/executor/scale_scaledobjects.go`, `pkg/scaling/scale_handler.go`, `controllers/keda/hpa.go`);
 * its triggers are in `keda-triggers.ts`.
 *
 * Two control loops, as in a cluster:
 * - the KEDA operator polls the triggers every `pollingInterval` (`RequestScale`): 0 (or the idle count)
 *   → max(minReplicaCount, 1) when any trigger is active; down to idleReplicaCount, or to 0 with
 *   minReplicaCount 0, once every trigger has been inactive for longer than `cooldownPeriod`
 *   (`initialCooldownPeriod` after creation if it was never active); up to minReplicaCount otherwise;
 * - the HPA that KEDA creates (min = max(minReplicaCount, 1), max = maxReplicaCount) does 1 ↔ N on its
 *   own sync period, with one External AverageValue metric per trigger, through {@link reconcileHpa};
 *   a trigger that keeps failing is answered by the fallback (`keda-fallback.ts`) when one is set.
 *
 * Pure functions: the controllers' memory is an explicit {@link KedaState}, returned, never mutated.
 * Times are seconds on the simulation clock; `nowMs` is the absolute instant (for cron windows).
 */
import { ScalingInputError } from '../errors.ts';
import type { HpaBehavior } from './hpa-behavior.ts';
import { normalizeBehavior } from './hpa-behavior.ts';
import type { HpaLimits, HpaState } from './hpa.ts';
import type { Tolerances } from './hpa-replica-calculator.ts';
import { DEFAULT_TOLERANCE, combineMetricProposals, computeExternalAverageValueReplicas, createHpaState, reconcileHpa } from './hpa.ts';
import type { KedaFallback, TriggerHealth } from './keda-fallback.ts';
import { KEDA_FALLBACK_BEHAVIORS, getMetricWithFallback } from './keda-fallback.ts';
import type { KedaTrigger, TriggerReading } from './keda-triggers.ts';

/** The ScaledObject annotations that change what the operator and its HPA do. */
export interface KedaAnnotations {
  /**
   * `autoscaling.keda.sh/paused-scale-in: "true"`: no scale to idle/zero, and the HPA's
   * `scaleDown.selectPolicy` becomes Disabled. @defaultValue false
   */
  pausedScaleIn: boolean;
  /**
   * `autoscaling.keda.sh/paused-scale-out: "true"`: no activation from zero/idle, and the HPA's
   * `scaleUp.selectPolicy` becomes Disabled. @defaultValue false
   */
  pausedScaleOut: boolean;
  /** `autoscaling.keda.sh/force-activation: "true"`: the operator acts as if a trigger were active. @defaultValue false */
  forceActivation: boolean;
}

/** The ScaledObject fields the simulation uses, defaults filled in. */
export interface KedaScaledObject {
  /** @defaultValue 30 */
  pollingIntervalSeconds: number;
  /** @defaultValue 300 */
  cooldownPeriodSeconds: number;
  /**
   * Grace after creation before the first scale to idle/zero, while the ScaledObject has never been
   * active (`status.lastActiveTime` unset). @defaultValue 0
   */
  initialCooldownPeriodSeconds: number;
  /**
   * Replicas while every trigger is inactive, below minReplicaCount; null: unset. KEDA documents 0 as
   * the only value that works: an idle count above 0 is below the HPA's minimum, which the HPA raises
   * straight back to minReplicaCount (the simulation shows that fight). @defaultValue null
   */
  idleReplicaCount: number | null;
  /** KEDA's default is 0; BullMQ workers want ≥ 1 (delayed jobs and retries need a running worker). */
  minReplicaCount: number;
  /** @defaultValue 100 */
  maxReplicaCount: number;
  triggers: KedaTrigger[];
  /** `advanced.horizontalPodAutoscalerConfig.behavior`. @defaultValue the API server's defaults */
  behavior: HpaBehavior;
  /** HPA controller tolerance (`--horizontal-pod-autoscaler-tolerance`); `behavior.*.tolerance` overrides it per direction. @defaultValue 0.1 */
  tolerance: number;
  /** HPA controller sync period. @defaultValue 15 */
  hpaSyncPeriodSeconds: number;
  /** `spec.fallback`; null: none (a failing trigger is an invalid metric for the HPA). @defaultValue null */
  fallback: KedaFallback | null;
  /** @defaultValue none set */
  annotations: KedaAnnotations;
}

/** What a caller may give {@link createScaledObject}: any field, annotations one by one. */
export type KedaScaledObjectInput = Partial<Omit<KedaScaledObject, 'annotations' | 'fallback'>> & {
  annotations?: Partial<KedaAnnotations>;
  fallback?: (Omit<KedaFallback, 'behavior'> & Partial<Pick<KedaFallback, 'behavior'>>) | null;
};

export const DEFAULT_KEDA_ANNOTATIONS: KedaAnnotations = { pausedScaleIn: false, pausedScaleOut: false, forceActivation: false };

export const DEFAULT_SCALED_OBJECT: KedaScaledObject = {
  pollingIntervalSeconds: 30,
  cooldownPeriodSeconds: 300,
  initialCooldownPeriodSeconds: 0,
  idleReplicaCount: null,
  minReplicaCount: 0,
  maxReplicaCount: 100,
  triggers: [],
  behavior: normalizeBehavior(),
  tolerance: DEFAULT_TOLERANCE,
  hpaSyncPeriodSeconds: 15,
  fallback: null,
  annotations: DEFAULT_KEDA_ANNOTATIONS,
};

function invalid(message: string): never {
  throw new ScalingInputError('INVALID_OPTION', message);
}

/** `GetHPAMinReplicas`: minReplicaCount, or 1 when it is 0 (an HPA minimum cannot be 0). */
export function getHpaMinReplicas(so: Pick<KedaScaledObject, 'minReplicaCount'>): number {
  return so.minReplicaCount > 0 ? so.minReplicaCount : 1;
}

/**
 * Fills defaults and refuses what KEDA's admission webhook refuses (`CheckReplicaCountBoundsAreValid`,
 * `CheckFallbackValid`, `ValidateTriggers`; messages as KEDA words them), plus what would make the HPA
 * KEDA creates invalid (maxReplicaCount 0, a listLength target of 0) and what the simulation cannot run.
 * The fallback's other webhook rule (some trigger has an AverageValue target and is not cpu/memory)
 * always holds here: redis and cron triggers have AverageValue targets.
 */
export function createScaledObject(spec: KedaScaledObjectInput = {}): KedaScaledObject {
  const fallback = spec.fallback ? { ...spec.fallback, behavior: spec.fallback.behavior ?? 'static' } : null;
  const so: KedaScaledObject = { ...DEFAULT_SCALED_OBJECT, ...spec, fallback, annotations: { ...DEFAULT_KEDA_ANNOTATIONS, ...spec.annotations } };
  if (!(so.pollingIntervalSeconds > 0)) invalid(`pollingInterval must be > 0 (got ${so.pollingIntervalSeconds})`);
  if (!(so.hpaSyncPeriodSeconds > 0)) invalid(`HPA sync period must be > 0 (got ${so.hpaSyncPeriodSeconds})`);
  if (!(so.cooldownPeriodSeconds >= 0)) invalid(`cooldownPeriod must be ≥ 0 (got ${so.cooldownPeriodSeconds})`);
  if (!(so.initialCooldownPeriodSeconds >= 0)) invalid(`initialCooldownPeriod must be ≥ 0 (got ${so.initialCooldownPeriodSeconds})`);
  if (!Number.isInteger(so.minReplicaCount) || so.minReplicaCount < 0) invalid(`minReplicaCount must be an integer ≥ 0 (got ${so.minReplicaCount})`);
  if (!Number.isInteger(so.maxReplicaCount) || so.maxReplicaCount < 1) invalid(`maxReplicaCount must be an integer ≥ 1 (got ${so.maxReplicaCount})`);
  const idle = so.idleReplicaCount;
  if (idle !== null && (!Number.isInteger(idle) || idle < 0)) invalid(`idleReplicaCount must be an integer ≥ 0 (got ${idle})`);
  // CheckReplicaCountBoundsAreValid compares with the HPA minimum when minReplicaCount is set (an explicit
  // 0 counts as 1), with 0 when it is not: an idleReplicaCount needs an explicit minReplicaCount.
  const boundsMin = spec.minReplicaCount === undefined ? 0 : getHpaMinReplicas(so);
  if (boundsMin > so.maxReplicaCount) invalid(`MinReplicaCount=${boundsMin} must be less than MaxReplicaCount=${so.maxReplicaCount}`);
  if (idle !== null && idle >= boundsMin) invalid(`IdleReplicaCount=${idle} must be less than MinReplicaCount=${boundsMin}`);
  if (fallback !== null) {
    const { failureThreshold: ft, replicas: r } = fallback;
    if (!(ft >= 0 && r >= 0)) invalid(`FailureThreshold=${ft} & Replicas=${r} must both be greater than or equal to 0`);
    if (!Number.isInteger(ft) || !Number.isInteger(r)) invalid(`fallback failureThreshold and replicas must be integers (got ${ft}, ${r})`);
    if (!KEDA_FALLBACK_BEHAVIORS.includes(fallback.behavior)) invalid(`fallback.behavior must be one of ${KEDA_FALLBACK_BEHAVIORS.join(', ')} (got ${fallback.behavior})`);
  }
  if (so.triggers.length === 0) invalid('a ScaledObject needs at least one trigger');
  const names = new Set<string>();
  for (const t of so.triggers) {
    if (names.has(t.name)) invalid(`triggerName "${t.name}" is defined multiple times in the ScaledObject, but it must be unique`);
    names.add(t.name);
    if (t.type === 'redis') {
      if (!t.listName) invalid(`trigger ${t.name}: listName is required`);
      if (!(t.listLength > 0)) invalid(`trigger ${t.name}: listLength must be > 0, the HPA's AverageValue target (got ${t.listLength})`);
      if (!(t.activationListLength >= 0)) invalid(`trigger ${t.name}: activationListLength must be ≥ 0 (got ${t.activationListLength})`);
    } else {
      if (!Number.isInteger(t.desiredReplicas) || t.desiredReplicas < 1) invalid(`trigger ${t.name}: desiredReplicas must be an integer ≥ 1 (got ${t.desiredReplicas})`);
      if (!(t.endMs > t.startMs)) invalid(`trigger ${t.name}: the window must end after it starts`);
    }
  }
  return so;
}

/**
 * The HPA KEDA creates (`newHPAForScaledObject`): min = {@link getHpaMinReplicas}, max = maxReplicaCount,
 * the ScaledObject's behavior, with `selectPolicy: Disabled` on scaleDown / scaleUp while scale-in /
 * scale-out is paused by annotation.
 */
export function getKedaHpaSpec(so: KedaScaledObject): Required<Pick<HpaLimits, 'minReplicas' | 'maxReplicas' | 'behavior'>> {
  const { scaleUp, scaleDown } = so.behavior;
  return {
    minReplicas: getHpaMinReplicas(so),
    maxReplicas: so.maxReplicaCount,
    behavior: {
      scaleUp: so.annotations.pausedScaleOut ? { ...scaleUp, selectPolicy: 'Disabled' } : scaleUp,
      scaleDown: so.annotations.pausedScaleIn ? { ...scaleDown, selectPolicy: 'Disabled' } : scaleDown,
    },
  };
}

/**
 * The tolerances the HPA applies: `behavior.scaleUp/scaleDown.tolerance` of
 * `advanced.horizontalPodAutoscalerConfig` (KEDA ≥ 2.18 passes them on; HPAConfigurableTolerance,
 * k8s ≥ 1.33) per direction, else the controller's flag.
 */
export function getKedaHpaTolerances(so: Pick<KedaScaledObject, 'behavior' | 'tolerance'>): Tolerances {
  return { scaleDown: so.behavior.scaleDown.tolerance ?? so.tolerance, scaleUp: so.behavior.scaleUp.tolerance ?? so.tolerance };
}

/**
 * The HPA's metric-based proposal: per trigger `ceil(value / target)` unless `value / (target × current)`
 * is within the tolerance, then the max over triggers (so a cron window and the queue combine by max).
 * A trigger that failed is an invalid metric: it blocks a scale-down, not a scale-up.
 */
export function proposeKedaHpaReplicas(readings: readonly TriggerReading[], currentReplicas: number, tolerance: number | Tolerances = DEFAULT_TOLERANCE): number | null {
  const proposals = readings.map((r) =>
    r.error === undefined ? computeExternalAverageValueReplicas({ currentReplicas, total: r.value, targetPerPod: r.targetAverageValue, tolerance }) : null,
  );
  return combineMetricProposals(proposals, currentReplicas);
}

/** The operator's view of all triggers in one poll (`getScaledObjectState`). */
export interface ScaledObjectState {
  /** Some trigger that answered is active. */
  active: boolean;
  /** Some trigger failed to answer. */
  error: boolean;
  /** Names of the active triggers. */
  activeTriggers: string[];
}

/** `getScaledObjectState`: active if any trigger is, in error if any failed (a failed one is not active). */
export function getScaledObjectState(readings: readonly TriggerReading[]): ScaledObjectState {
  const activeTriggers = readings.filter((r) => r.error === undefined && r.active).map((r) => r.name);
  return { active: activeTriggers.length > 0, error: readings.some((r) => r.error !== undefined), activeTriggers };
}

/** The memory of KEDA's operator and of the HPA it owns. */
export interface KedaState {
  hpa: HpaState;
  /** `status.lastActiveTime` (seconds on the simulation clock); null: never active (KEDA's nil). */
  lastActiveAt: number | null;
  /** `metadata.creationTimestamp`: `initialCooldownPeriod` counts from here while lastActiveAt is null. */
  createdAt: number;
  /** `status.health`, by trigger name: failed metric requests in a row (kept only with a fallback). */
  health: Record<string, TriggerHealth>;
}

/**
 * Initial state. `lastActiveAt` defaults to the simulation start: the simulation begins in a steady
 * state, so the cooldown counts from then; null is a ScaledObject that has never been active, which
 * KEDA scales in once `createdAt + initialCooldownPeriod` has passed.
 */
export function createKedaState(lastActiveAt: number | null = 0, createdAt = 0): KedaState {
  return { hpa: createHpaState(), lastActiveAt, createdAt, health: {} };
}

/** A controller's decision. */
export interface KedaDecision {
  replicas: number;
  state: KedaState;
  /**
   * What happened. KEDA: ScaleFromZero, ScaleFromIdle, PausedScaleOut, PartialTriggerError, KeepActive,
   * AwaitingFallback, TriggerError, PausedScaleIn, CoolingDown, ScaleToZero, ScaleToIdle, ScaleToMin,
   * Inactive; else the HPA's reason.
   */
  reason: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** One poll of the KEDA operator: activation and deactivation only (the HPA does the rest). */
export interface KedaPollDecision extends KedaDecision {
  /** The `Active` condition: a trigger is active or activation is forced. */
  active: boolean;
  /** The `Ready` condition: False when every answering trigger is inactive and some failed, Unknown when some are active and some failed. */
  ready: ConditionStatus;
}

/** `RequestScale` of `scale_scaledobjects.go` (the paused-replicas path, which skips it, is not modelled). */
export function pollScaledObject(
  so: KedaScaledObject,
  state: KedaState,
  input: { now: number; currentReplicas: number; readings: readonly TriggerReading[] },
): KedaPollDecision {
  const { now, currentReplicas: current } = input;
  const triggers = getScaledObjectState(input.readings);
  const error = triggers.error;
  const active = triggers.active || so.annotations.forceActivation;
  const min = so.minReplicaCount;
  const idle = so.idleReplicaCount;
  const keep = (reason: string, ready: ConditionStatus = 'True', next = state): KedaPollDecision => ({ replicas: current, state: next, reason, active, ready });
  if (active) {
    if ((idle !== null && current < min) || current === 0) {
      // scaleFromZeroOrIdle; lastActiveTime is recorded only when the target was scaled.
      if (so.annotations.pausedScaleOut) return keep('PausedScaleOut');
      return { replicas: Math.max(min, 1), state: { ...state, lastActiveAt: now }, reason: current === 0 ? 'ScaleFromZero' : 'ScaleFromIdle', active, ready: 'True' };
    }
    // Some triggers active, some failing: the Ready condition goes Unknown and lastActiveTime is not updated.
    if (error) return keep('PartialTriggerError', 'Unknown');
    return keep('KeepActive', 'True', { ...state, lastActiveAt: now });
  }
  // A failing trigger with a fallback: no scale-in, so that the HPA (which does nothing at 0 replicas)
  // can apply the fallback once failureThreshold is passed. A fallback of 0 replicas scales in as usual.
  if (error && so.fallback !== null && so.fallback.replicas !== 0) return keep('AwaitingFallback');
  if (error && so.fallback === null) return keep('TriggerError', 'False');
  if ((idle !== null && current > idle) || (current > 0 && min === 0)) {
    // scaleToZeroOrIdle: once `lastActiveTime + cooldownPeriod` (or, never active, creation +
    // initialCooldownPeriod) is strictly before now.
    if (so.annotations.pausedScaleIn) return keep('PausedScaleIn');
    const cooled =
      state.lastActiveAt === null ? state.createdAt + so.initialCooldownPeriodSeconds < now : state.lastActiveAt + so.cooldownPeriodSeconds < now;
    if (!cooled) return keep('CoolingDown');
    return { replicas: idle ?? min, state, reason: idle === null ? 'ScaleToZero' : 'ScaleToIdle', active, ready: 'True' };
  }
  if (idle === null && current < min) return { replicas: min, state, reason: 'ScaleToMin', active, ready: 'True' };
  return keep('Inactive');
}

/**
 * One sync of the HPA KEDA created ({@link getKedaHpaSpec}): one metric request per trigger through the
 * metrics adapter (with the fallback, which keeps each trigger's failure count in `state.health`). At 0
 * replicas the HPA requests nothing and does nothing (scaling is disabled; KEDA owns 0 ↔ 1).
 */
export function syncKedaHpa(
  so: KedaScaledObject,
  state: KedaState,
  input: { now: number; currentReplicas: number; readings: readonly TriggerReading[] },
): KedaDecision {
  const { now, currentReplicas: current } = input;
  if (current === 0) return { replicas: 0, state, reason: 'ScalingDisabled' };
  const health = { ...state.health };
  const served = input.readings.map((reading): TriggerReading => {
    const answer = getMetricWithFallback({ fallback: so.fallback, reading, health: health[reading.name], currentReplicas: current });
    if (answer.health) health[reading.name] = answer.health;
    return answer.value === null ? reading : { name: reading.name, value: answer.value, targetAverageValue: reading.targetAverageValue, active: reading.active };
  });
  const metricDesiredReplicas = proposeKedaHpaReplicas(served, current, getKedaHpaTolerances(so));
  const decision = reconcileHpa(getKedaHpaSpec(so), state.hpa, { now, currentReplicas: current, metricDesiredReplicas });
  return { replicas: decision.desiredReplicas, state: { ...state, hpa: decision.state, health }, reason: decision.reason };
}
