/**
 * KEDA's fallback (kedacore/keda `pkg/fallback/fallback.go`, `GetMetricsWithFallback`): the metrics
 * adapter counts, per trigger, the HPA's metric requests that failed in a row; past
 * `failureThreshold` it answers with `target × replicas` instead of an error, so that the HPA computes
 * `replicas` for that trigger (the HPA still applies its tolerance, behavior and bounds). Without a
 * fallback, or with an invalid one, the error goes to the HPA and the count is not kept.
 */
import type { TriggerReading } from './keda-triggers.ts';

/**
 * How the replicas of the fallback are chosen (`fallback.behavior`): the fixed count, the target's
 * current count, or whichever of the two is higher / lower. @defaultValue 'static'
 */
export type KedaFallbackBehavior = 'static' | 'currentReplicas' | 'currentReplicasIfHigher' | 'currentReplicasIfLower';

export const KEDA_FALLBACK_BEHAVIORS: readonly KedaFallbackBehavior[] = ['static', 'currentReplicas', 'currentReplicasIfHigher', 'currentReplicasIfLower'];

/** `spec.fallback`. */
export interface KedaFallback {
  /** Failed metric requests in a row a trigger may have before it falls back (must be ≥ 0). */
  failureThreshold: number;
  /** Replicas to fall back to (must be ≥ 0). */
  replicas: number;
  /** @defaultValue 'static' */
  behavior: KedaFallbackBehavior;
}

/** `status.health[metric]`. */
export interface TriggerHealth {
  numberOfFailures: number;
  status: 'Happy' | 'Failing';
}

/** `HasValidFallback`: both numbers ≥ 0 (the admission webhook refuses the rest, the adapter re-checks). */
export function hasValidFallback(fallback: Pick<KedaFallback, 'failureThreshold' | 'replicas'>): boolean {
  return fallback.failureThreshold >= 0 && fallback.replicas >= 0;
}

/** What the metrics adapter answers the HPA for one trigger. */
export interface FallbackAnswer {
  /** The metric value the HPA gets; null: the request fails (an invalid metric for the HPA). */
  value: number | null;
  /** The trigger's health after the request; unchanged when no valid fallback is configured. */
  health: TriggerHealth | undefined;
  /** The value is the fallback's `target × replicas`. */
  usedFallback: boolean;
}

/** `doFallback`'s replica count. */
function getFallbackReplicas(fallback: KedaFallback, currentReplicas: number): number {
  switch (fallback.behavior) {
    case 'currentReplicas':
      return currentReplicas;
    case 'currentReplicasIfHigher':
      return Math.max(currentReplicas, fallback.replicas);
    case 'currentReplicasIfLower':
      return Math.min(currentReplicas, fallback.replicas);
    default:
      return fallback.replicas;
  }
}

/**
 * `GetMetricsWithFallback` for one trigger (every trigger here has an AverageValue target, the only
 * kind the fallback serves). A success resets the count to 0 (Happy); a failure adds 1 (Failing) and,
 * once the count is above `failureThreshold`, answers `trunc(target) × replicas` (KEDA converts the
 * target to an integer). The count is kept only with a valid fallback, as upstream's status update is.
 */
export function getMetricWithFallback(args: {
  fallback: KedaFallback | null;
  reading: TriggerReading;
  health: TriggerHealth | undefined;
  currentReplicas: number;
}): FallbackAnswer {
  const { fallback, reading } = args;
  const keeps = fallback !== null && hasValidFallback(fallback);
  if (reading.error === undefined) {
    return { value: reading.value, health: keeps ? { numberOfFailures: 0, status: 'Happy' } : args.health, usedFallback: false };
  }
  const health: TriggerHealth = { numberOfFailures: (args.health?.numberOfFailures ?? 0) + 1, status: 'Failing' };
  if (!keeps) return { value: null, health: args.health, usedFallback: false };
  if (health.numberOfFailures > fallback.failureThreshold) {
    return { value: Math.trunc(reading.targetAverageValue) * getFallbackReplicas(fallback, args.currentReplicas), health, usedFallback: true };
  }
  return { value: null, health, usedFallback: false };
}
